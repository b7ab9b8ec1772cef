//! Criterion benchmarks of the core: one-shot throughput and per-delta streaming cost.
//!
//! Run: `cargo bench --bench core` (release profile, fat LTO). Workloads are generated here so
//! the numbers do not depend on files on disk.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use minimax_parser::{parse, Dialect, Options, StreamParser, ToolSet};

/// English-like reasoning prose with no markup, ending with `</think>`.
fn reasoning_prose(bytes: usize) -> String {
    let words = [
        "the",
        "user",
        "wants",
        "to",
        "refactor",
        "module",
        "so",
        "I",
        "should",
        "check",
        "which",
        "functions",
        "are",
        "called",
        "from",
        "tests",
        "and",
        "then",
        "plan",
        "edits",
    ];
    let mut s = String::with_capacity(bytes + 64);
    let mut i = 0usize;
    while s.len() < bytes {
        s.push_str(words[(i * 7 + i / 3) % words.len()]);
        s.push(if i % 17 == 16 { '\n' } else { ' ' });
        i += 1;
    }
    s.push_str("</think>\n\nDone.");
    s
}

fn code_lines(n: usize) -> String {
    (0..n)
        .map(|i| format!("    let value_{i} = compute(&input[{i}..], {i} * 2); // step {i}\n"))
        .collect()
}

fn write_file_call(content: &str) -> String {
    format!(
        "Plan the file.</think>\n\nWriting it now.\n<minimax:tool_call>\n<invoke name=\"write_file\">\n\
         <parameter name=\"path\">src/lib.rs</parameter>\n<parameter name=\"content\">{content}</parameter>\n\
         </invoke>\n</minimax:tool_call>"
    )
}

/// Many short calls with typed parameters: the markup-dense case.
fn tool_heavy(bytes: usize) -> String {
    let mut s = String::from("Plan.</think>\n\n");
    let mut i = 0;
    while s.len() < bytes {
        s.push_str(&format!(
            "<minimax:tool_call>\n<invoke name=\"get_weather\">\n<parameter name=\"location\">City {i}</parameter>\n\
             <parameter name=\"days\">{}</parameter>\n<parameter name=\"unit\">celsius</parameter>\n</invoke>\n\
             <invoke name=\"search\">\n<parameter name=\"query\">weather in city {i}</parameter>\n\
             <parameter name=\"filters\">{{\"lang\": \"en\", \"n\": {i}}}</parameter>\n</invoke>\n</minimax:tool_call>\nok\n",
            i % 14
        ));
        i += 1;
    }
    s
}

const N: &str = "]<]minimax[>[";

/// The same `write_file` call as MiniMax-M3 writes it (SPEC §7).
fn m3_write_file_call(content: &str) -> String {
    format!(
        "Writing it now.{N}<tool_call>\n{N}<invoke name=\"write_file\">{N}<path>src/lib.rs{N}</path>\
         {N}<content>{content}{N}</content>{N}</invoke>\n{N}</tool_call>"
    )
}

/// Many M3 calls with typed, nested arguments: the markup-dense case.
fn m3_tool_heavy(bytes: usize) -> String {
    let mut s = String::from("</mm:think>Plan.");
    let mut i = 0;
    while s.len() < bytes {
        s.push_str(&format!(
            "{N}<tool_call>\n{N}<invoke name=\"get_weather\">{N}<location>City {i}{N}</location>\
             {N}<days>{}{N}</days>{N}<unit>celsius{N}</unit>{N}</invoke>\n\
             {N}<invoke name=\"search\">{N}<query>weather in city {i}{N}</query>\
             {N}<filters>{N}<lang>en{N}</lang>{N}<n>{i}{N}</n>{N}</filters>{N}</invoke>\n{N}</tool_call>ok\n",
            i % 14
        ));
        i += 1;
    }
    s
}

fn m3(opts: &Options) -> Options {
    Options {
        dialect: Dialect::M3,
        start_in_reasoning: false,
        ..opts.clone()
    }
}

fn options() -> Options {
    let tools: Vec<serde_json::Value> = serde_json::from_str(
        r#"[{"type":"function","function":{"name":"write_file","parameters":{"type":"object","properties":{"path":{"type":"string"},"content":{"type":"string"}}}}},
            {"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"location":{"type":"string"},"days":{"type":"integer"},"unit":{"enum":["celsius","fahrenheit"]}}}}},
            {"type":"function","function":{"name":"search","parameters":{"type":"object","properties":{"query":{"type":"string"},"filters":{"type":"object"}}}}}]"#,
    )
    .unwrap();
    Options {
        tools: ToolSet::from_json(&tools).unwrap().into(),
        ..Options::default()
    }
}

/// Cuts `s` into pieces of about `n` bytes (on char boundaries), like token deltas.
fn pieces(s: &str, n: usize) -> Vec<&str> {
    let mut out = Vec::with_capacity(s.len() / n + 1);
    let mut start = 0;
    while start < s.len() {
        let mut end = (start + n).min(s.len());
        while !s.is_char_boundary(end) {
            end += 1;
        }
        out.push(&s[start..end]);
        start = end;
    }
    out
}

fn stream_all(opts: &Options, pieces: &[&str]) -> usize {
    let mut p = StreamParser::new(opts.clone());
    let mut n = 0;
    for piece in pieces {
        n += p.feed(piece).unwrap().len();
    }
    n + p.finish().unwrap().len()
}

fn one_shot(c: &mut Criterion) {
    let opts = options();
    let mut g = c.benchmark_group("parse");
    let workloads = [
        ("reasoning_prose_1MB", reasoning_prose(1 << 20)),
        ("tool_heavy_1MB", tool_heavy(1 << 20)),
        ("string_arg_100KB", write_file_call(&code_lines(1700))),
    ];
    for (name, text) in &workloads {
        g.throughput(Throughput::Bytes(text.len() as u64));
        g.bench_with_input(BenchmarkId::from_parameter(name), text, |b, t| {
            b.iter(|| parse(black_box(t), opts.clone()))
        });
    }
    let m3_opts = m3(&opts);
    let workloads = [
        ("m3_tool_heavy_1MB", m3_tool_heavy(1 << 20)),
        ("m3_string_arg_100KB", m3_write_file_call(&code_lines(1700))),
    ];
    for (name, text) in &workloads {
        g.throughput(Throughput::Bytes(text.len() as u64));
        g.bench_with_input(BenchmarkId::from_parameter(name), text, |b, t| {
            b.iter(|| parse(black_box(t), m3_opts.clone()))
        });
    }
    g.finish();
}

fn streaming(c: &mut Criterion) {
    let opts = options();
    let mut g = c.benchmark_group("feed_4_byte_deltas");
    let workloads = [
        ("reasoning_prose_100KB", reasoning_prose(100 << 10)),
        ("string_arg_100KB", write_file_call(&code_lines(1700))),
    ];
    for (name, text) in &workloads {
        let ps = pieces(text, 4);
        g.throughput(Throughput::Bytes(text.len() as u64));
        g.bench_with_input(BenchmarkId::from_parameter(name), &ps, |b, ps| {
            b.iter(|| stream_all(&opts, black_box(ps)))
        });
    }
    let m3_opts = m3(&opts);
    let text = m3_write_file_call(&code_lines(1700));
    let ps = pieces(&text, 4);
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.bench_with_input(
        BenchmarkId::from_parameter("m3_string_arg_100KB"),
        &ps,
        |b, ps| b.iter(|| stream_all(&m3_opts, black_box(ps))),
    );
    g.finish();

    // Flatness: the cost per delta must not grow with the size of the argument.
    let mut g = c.benchmark_group("feed_per_delta_write_file");
    for (dialect, opts) in [("m2", &opts), ("m3", &m3_opts)] {
        for lines in [80, 320, 1280] {
            let text = match dialect {
                "m2" => write_file_call(&code_lines(lines)),
                _ => m3_write_file_call(&code_lines(lines)),
            };
            let ps = pieces(&text, 4);
            g.throughput(Throughput::Elements(ps.len() as u64));
            let id = if dialect == "m2" {
                format!("{lines}_lines")
            } else {
                format!("m3_{lines}_lines")
            };
            g.bench_with_input(BenchmarkId::from_parameter(id), &ps, |b, ps| {
                b.iter(|| stream_all(opts, black_box(ps)))
            });
        }
    }
    g.finish();
}

criterion_group!(benches, one_shot, streaming);
criterion_main!(benches);
