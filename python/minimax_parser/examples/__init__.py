"""Bundled example transcripts (raw MiniMax-M2 responses with the request's tools)."""
