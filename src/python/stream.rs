//! `StreamParser` for Python: the core parser, the caller's id generator, and what the events so
//! far add up to for `message()` snapshots. A panic or a failing `id_generator` retires it.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use pyo3::exceptions::{PyRuntimeError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::PyList;

use super::events::event_to_py;
use super::message::{Calls, Log, Message, PyText, Text, ToolCall};
use super::tools::{options, Choice};
use super::{guard, panic_error, text_arg, ToText};
use crate::{
    Dialect, Event, IdGenerator, Options, ReasoningMode, StreamParser, ToolCallsInReasoning,
};

pub(super) fn check_id_generator(g: Option<Bound<'_, PyAny>>) -> PyResult<Option<Py<PyAny>>> {
    match g.filter(|g| !g.is_none()) {
        Some(g) if g.is_callable() => Ok(Some(g.unbind())),
        Some(g) => Err(PyTypeError::new_err(format!(
            "id_generator must be a callable taking the call index and returning a str, got {}",
            g.get_type().name()?
        ))),
        None => Ok(None),
    }
}

fn call_id(py: Python<'_>, g: &Py<PyAny>, index: usize) -> PyResult<String> {
    let id = g.call1(py, (index,))?;
    id.extract::<String>(py)
        .map_err(|_| PyTypeError::new_err("id_generator must return a str"))
}

/// Applies the caller's `id_generator`, if any, to the core's ids.
pub(super) struct IdMap {
    pub(super) generator: Option<Py<PyAny>>,
}

impl IdMap {
    pub(super) fn assign(
        &mut self,
        py: Python<'_>,
        index: usize,
        core_id: String,
    ) -> PyResult<String> {
        match &self.generator {
            Some(g) => call_id(py, g, index),
            None => Ok(core_id),
        }
    }
}

/// The streaming parser for one response.
#[pyclass(module = "minimax_parser", name = "StreamParser")]
pub(super) struct PyStreamParser {
    /// `None` once retired (a panic, or an `id_generator` that failed): its state cannot be
    /// trusted, or events were lost, so it refuses further use.
    inner: Option<StreamParser>,
    /// Why it was retired.
    retired: Option<&'static str>,
    ids: IdMap,
    replay: Replay,
}

/// What `message()` needs, kept so that `feed` does next to nothing for it: the text fed since
/// the last snapshot and the ids the caller's calls got. A snapshot replays that text on a shadow
/// parser (same options) and folds its events into [`SoFar`]; by the central invariant this is
/// exactly the events the caller received, however the text was cut. So `feed` costs one copy of
/// its text, and `message()` O(text since the last one).
struct Replay {
    opts: Options,
    /// Text delivered by `feed` and not yet replayed.
    pending: String,
    /// `finish()` was delivered.
    ended: bool,
    /// The id of each call, by index, as the caller received it.
    ids: Vec<String>,
    /// Created by the first `message()`.
    shadow: Option<StreamParser>,
    so_far: SoFar,
}

impl Replay {
    /// Replays what was delivered since the last call; returns what finishing now would add
    /// (nothing once ended). A retired parser's snapshot is what it delivered, finished there.
    fn catch_up(&mut self, py: Python<'_>) -> PyResult<Vec<Event>> {
        let opts = &self.opts;
        let shadow = self.shadow.get_or_insert_with(|| {
            StreamParser::with_ids(opts.clone(), IdGenerator::from_fn(|_| String::new()))
        });
        let pending = std::mem::take(&mut self.pending);
        let ended = self.ended;
        let (events, tail) = guard(|| {
            let mut events = if shadow.is_finished() {
                Vec::new()
            } else {
                shadow.feed(&pending)?
            };
            if ended && !shadow.is_finished() {
                events.extend(shadow.finish()?);
            }
            let tail = if ended {
                Vec::new()
            } else {
                shadow.preview_finish()
            };
            Ok((events, tail))
        })?;
        for mut e in events {
            if let Event::ToolCallStart { index, id, .. } = &mut e {
                *id = self.ids.get(*index).cloned().unwrap_or_default();
            }
            self.so_far.push(py, &e)?;
        }
        Ok(tail)
    }
}

/// What the events so far add up to, for `message()`: append-only logs that snapshots share.
#[derive(Default)]
struct SoFar {
    reasoning: Log<String>,
    content: Log<String>,
    calls: Log<Vec<Py<ToolCall>>>,
    /// The open call: index, id, name, and its arguments so far.
    open: Option<(usize, String, String, Log<String>)>,
    /// The last snapshot, while nothing was fed since.
    last: Option<Py<Message>>,
    /// The texts of the last snapshot, reused while their channel has no new text.
    last_reasoning: Option<Arc<PyText>>,
    last_content: Option<Arc<PyText>>,
}

impl SoFar {
    fn push(&mut self, py: Python<'_>, e: &Event) -> PyResult<()> {
        match e {
            Event::Reasoning(t) => {
                self.reasoning.write(|s| s.push_str(t));
                self.last_reasoning = None;
            }
            Event::Content(t) => {
                self.content.write(|s| s.push_str(t));
                self.last_content = None;
            }
            Event::ToolCallStart { index, id, name } => {
                self.open = Some((*index, id.clone(), name.clone(), Log::default()));
            }
            Event::ToolCallDelta { arguments, .. } => {
                if let Some((.., log)) = &self.open {
                    log.write(|s| s.push_str(arguments));
                }
            }
            Event::ToolCallEnd {
                index,
                arguments,
                incomplete,
            } => {
                if let Some((_, id, name, _)) = self.open.take() {
                    let call = ToolCall {
                        index: *index,
                        id,
                        name,
                        arguments: Text::Whole(arguments.clone()),
                        incomplete: *incomplete,
                    };
                    let call = Py::new(py, call)?;
                    self.calls.write(|v| v.push(call));
                }
            }
        }
        Ok(())
    }

    /// The message so far plus `tail`, what finishing now would add (`preview_finish`).
    fn snapshot(&mut self, py: Python<'_>, tail: Vec<Event>) -> PyResult<Py<Message>> {
        let (mut reasoning, mut content, mut open) = (String::new(), String::new(), None);
        for e in tail {
            match e {
                Event::Reasoning(t) => reasoning.push_str(&t),
                Event::Content(t) => content.push_str(&t),
                Event::ToolCallEnd {
                    index,
                    arguments,
                    incomplete,
                } => {
                    if let Some((_, id, name, log)) = &self.open {
                        let call = ToolCall {
                            index,
                            id: id.clone(),
                            name: name.clone(),
                            arguments: Text::snapshot(log, arguments),
                            incomplete,
                        };
                        open = Some(Py::new(py, call)?);
                    }
                }
                Event::ToolCallStart { .. } | Event::ToolCallDelta { .. } => {}
            }
        }
        let text = |log: &Log<String>, last: &mut Option<Arc<PyText>>, tail: String| {
            if !tail.is_empty() {
                return PyText::new(Text::snapshot(log, tail));
            }
            if last.is_none() {
                *last = PyText::new(Text::snapshot(log, tail));
            }
            last.clone()
        };
        let message = Message {
            reasoning: text(&self.reasoning, &mut self.last_reasoning, reasoning),
            content: text(&self.content, &mut self.last_content, content),
            calls: Calls {
                ended: self.calls.read(Vec::len),
                log: self.calls.clone(),
                open,
            },
        };
        let message = Py::new(py, message)?;
        self.last = Some(message.clone_ref(py));
        Ok(message)
    }
}

#[pymethods]
impl PyStreamParser {
    #[new]
    #[pyo3(signature = (*, tools=None, reasoning=Choice(ReasoningMode::Separate), start_in_reasoning=None,
                        tool_calls_in_reasoning=Choice(ToolCallsInReasoning::Extract), dialect=Choice(Dialect::M2), id_generator=None),
                    text_signature = "(*, tools=None, reasoning='separate', start_in_reasoning=None, tool_calls_in_reasoning='extract', dialect='m2', id_generator=None)")]
    fn new(
        py: Python<'_>,
        tools: Option<&Bound<'_, PyAny>>,
        reasoning: Choice<ReasoningMode>,
        start_in_reasoning: Option<bool>,
        tool_calls_in_reasoning: Choice<ToolCallsInReasoning>,
        dialect: Choice<Dialect>,
        id_generator: Option<Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let opts = options(
            py,
            tools,
            reasoning,
            start_in_reasoning,
            tool_calls_in_reasoning,
            dialect,
        )?;
        Ok(PyStreamParser {
            inner: Some(StreamParser::with_ids(opts.clone(), IdGenerator::random())),
            retired: None,
            ids: IdMap {
                generator: check_id_generator(id_generator)?,
            },
            replay: Replay {
                opts,
                pending: String::new(),
                ended: false,
                ids: Vec::new(),
                shadow: None,
                so_far: SoFar::default(),
            },
        })
    }

    /// Feeds the next piece of text; returns the events it completed (maybe none).
    fn feed<'py>(
        &mut self,
        py: Python<'py>,
        text: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyList>> {
        let text = text_arg(text, "feed() takes a str")?;
        let text = text.to_text();
        self.run(py, Some(&text))
    }

    /// Ends the response and returns the last events; feeding afterwards raises.
    fn finish<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        self.run(py, None)
    }

    /// True once `finish()` was called (or the parser was retired).
    #[getter]
    fn finished(&self) -> bool {
        self.inner.as_ref().is_none_or(StreamParser::is_finished)
    }

    /// The message so far: exactly what `finish()` would give if the response ended now (an
    /// open call `incomplete`, with valid JSON arguments). Taking it changes nothing.
    fn message(&mut self, py: Python<'_>) -> PyResult<Py<Message>> {
        if let Some(last) = &self.replay.so_far.last {
            return Ok(last.clone_ref(py));
        }
        let tail = self.replay.catch_up(py)?;
        self.replay.so_far.snapshot(py, tail)
    }

    fn __repr__(&self) -> String {
        format!("<minimax_parser.StreamParser finished={}>", self.finished())
    }
}

impl PyStreamParser {
    /// Feeds `text`, or finishes when it is `None`.
    fn run<'py>(&mut self, py: Python<'py>, text: Option<&str>) -> PyResult<Bound<'py, PyList>> {
        self.replay.so_far.last = None;
        let Some(parser) = self.inner.as_mut() else {
            return Err(PyRuntimeError::new_err(format!(
                "this StreamParser was retired after {} and cannot be used; \
                 create a new StreamParser",
                self.retired.unwrap_or("an internal error")
            )));
        };
        let step = || match text {
            Some(t) => parser.feed(t),
            None => parser.finish(),
        };
        let events = match catch_unwind(AssertUnwindSafe(step)) {
            Ok(r) => r?,
            Err(payload) => {
                self.retire("an internal error");
                return Err(panic_error(payload));
            }
        };
        let mut events = events;
        // Ids first: if the caller's generator fails, nothing of this feed has been recorded.
        for e in &mut events {
            if let Event::ToolCallStart { index, id, .. } = e {
                match self.ids.assign(py, *index, std::mem::take(id)) {
                    Ok(assigned) => *id = assigned,
                    Err(err) => {
                        // The events of this feed are lost with the exception: retire the parser
                        // rather than carry on with a gap (SPEC §9).
                        self.retire("its id_generator failed");
                        let retired = PyRuntimeError::new_err(
                            "id_generator failed, so this StreamParser is retired: the events \
                             of this feed() could not be delivered. Create a new StreamParser",
                        );
                        retired.set_cause(py, Some(err));
                        return Err(retired);
                    }
                }
            }
        }
        // Delivered: keep what a snapshot needs to replay it.
        match text {
            Some(t) => self.replay.pending.push_str(t),
            None => self.replay.ended = true,
        }
        let list = PyList::empty(py);
        for e in events {
            if let Event::ToolCallStart { id, .. } = &e {
                self.replay.ids.push(id.clone());
            }
            list.append(event_to_py(py, e)?)?;
        }
        Ok(list)
    }

    fn retire(&mut self, why: &'static str) {
        self.inner = None;
        self.retired = Some(why);
    }
}
