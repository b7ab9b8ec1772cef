//! The Python boundary (`minimax_parser._core`): the only file that knows about PyO3.
//!
//! Everything here is thin: option validation with messages that list the valid values,
//! conversion of core events into small frozen Python objects, and a guard that turns a Rust
//! panic into an ordinary Python exception and retires the parser that hit it.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use pyo3::BoundObject;
use serde_json::Value;

use crate::{
    Event, IdGenerator, Options, ReasoningMode, StreamParser, ToolCallsInReasoning, ToolSet,
};

impl From<crate::Error> for PyErr {
    fn from(e: crate::Error) -> PyErr {
        match e {
            crate::Error::Finished => PyRuntimeError::new_err(e.to_string()),
            crate::Error::InvalidTool(_) => PyValueError::new_err(e.to_string()),
        }
    }
}

/// The exception a Rust panic turns into.
fn panic_error(payload: Box<dyn std::any::Any + Send>) -> PyErr {
    let msg = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string());
    PyRuntimeError::new_err(format!(
        "internal error in minimax_parser: {msg}. Please report it with the input that caused it"
    ))
}

/// Runs `f`, turning a panic into a `RuntimeError` (a panic must never take down Python).
fn guard<T>(f: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|p| Err(panic_error(p)))
}

/// How deep a `tools` list may nest (lists and dicts), counted from the list itself (SPEC §9).
/// The conversion recurses, so the limit keeps it far from any thread's stack size; real tool
/// schemas nest a few dozen levels at most.
pub const MAX_TOOLS_NESTING: usize = 128;

/// Why a `tools` value could not be converted; the path is collected on the way out, so the
/// conversion builds no path strings unless it fails.
enum ConvError {
    Py(PyErr),
    Type(String, Vec<String>),
    TooDeep(Vec<String>),
}

impl From<PyErr> for ConvError {
    fn from(e: PyErr) -> Self {
        ConvError::Py(e)
    }
}

impl ConvError {
    fn at(mut self, segment: impl FnOnce() -> String) -> Self {
        if let ConvError::Type(_, path) | ConvError::TooDeep(path) = &mut self {
            path.push(segment());
        }
        self
    }

    fn into_py(self, root: &str) -> PyErr {
        let path = |segments: Vec<String>| {
            let mut p = root.to_string();
            segments.iter().rev().for_each(|s| p.push_str(s));
            p
        };
        match self {
            ConvError::Py(e) => e,
            ConvError::Type(msg, segments) => {
                PyTypeError::new_err(format!("{}: {msg}", path(segments)))
            }
            ConvError::TooDeep(segments) => PyValueError::new_err(format!(
                "{}: tools nested deeper than {MAX_TOOLS_NESTING} levels of lists and dicts \
                 (the limit for tool definitions)",
                path(segments)
            )),
        }
    }
}

/// Converts plain Python JSON data into a `Value`; `depth` counts the containers around `obj`.
fn to_json(obj: &Bound<'_, PyAny>, depth: usize) -> Result<Value, ConvError> {
    if obj.is_none() {
        Ok(Value::Null)
    } else if let Ok(b) = obj.cast::<PyBool>() {
        Ok(Value::Bool(b.is_true()))
    } else if obj.is_instance_of::<PyInt>() {
        let text = obj.str()?.to_string();
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    } else if let Ok(f) = obj.cast::<PyFloat>() {
        Ok(serde_json::Number::from_f64(f.value()).map_or(Value::Null, Value::Number))
    } else if let Ok(s) = obj.cast::<PyString>() {
        Ok(Value::String(s.to_str()?.to_string()))
    } else if let Ok(d) = obj.cast::<PyDict>() {
        if depth >= MAX_TOOLS_NESTING {
            return Err(ConvError::TooDeep(Vec::new()));
        }
        let mut map = serde_json::Map::new();
        for (k, v) in d.iter() {
            let Ok(key) = k.cast::<PyString>() else {
                return Err(ConvError::Type(
                    "dictionary keys must be str".into(),
                    Vec::new(),
                ));
            };
            let key = key.to_str()?.to_string();
            let value = to_json(&v, depth + 1).map_err(|e| e.at(|| format!("[{key:?}]")))?;
            map.insert(key, value);
        }
        Ok(Value::Object(map))
    } else if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        if depth >= MAX_TOOLS_NESTING {
            return Err(ConvError::TooDeep(Vec::new()));
        }
        let mut items = Vec::new();
        for (i, item) in obj.try_iter()?.enumerate() {
            items.push(to_json(&item?, depth + 1).map_err(|e| e.at(|| format!("[{i}]")))?);
        }
        Ok(Value::Array(items))
    } else {
        Err(ConvError::Type(
            format!(
                "unsupported value of type {}; tools must be plain JSON data \
                 (dict, list, str, int, float, bool, None)",
                obj.get_type().name()?
            ),
            Vec::new(),
        ))
    }
}

fn tools_from_py(py: Python<'_>, tools: Option<&Bound<'_, PyAny>>) -> PyResult<Arc<ToolSet>> {
    let Some(tools) = tools.filter(|t| !t.is_none()) else {
        return Ok(Arc::new(ToolSet::default()));
    };
    if !(tools.is_instance_of::<PyList>() || tools.is_instance_of::<PyTuple>()) {
        return Err(PyTypeError::new_err(format!(
            "tools must be a list of dicts (the request's `tools`), got {}",
            tools.get_type().name()?
        )));
    }
    let mut defs = Vec::new();
    for (i, t) in tools.try_iter()?.enumerate() {
        let t = t?;
        if !t.is_instance_of::<PyDict>() {
            return Err(PyTypeError::new_err(format!(
                "tools[{i}] must be a dict like {{\"type\": \"function\", \"function\": {{\"name\": …, \
                 \"parameters\": …}}}}, got {}",
                t.get_type().name()?
            )));
        }
        defs.push(to_json(&t, 1).map_err(|e| e.into_py(&format!("tools[{i}]")))?);
    }
    // Compiling is linear in the schemas' size (SPEC §9); other Python threads run meanwhile.
    let set = py.detach(|| guard(|| Ok(ToolSet::from_json(&defs)?)))?;
    Ok(Arc::new(set))
}

fn make_options(
    py: Python<'_>,
    tools: Option<&Bound<'_, PyAny>>,
    reasoning: &str,
    start_in_reasoning: bool,
    tool_calls_in_reasoning: &str,
) -> PyResult<Options> {
    let reasoning = match reasoning {
        "separate" => ReasoningMode::Separate,
        "inline" => ReasoningMode::Inline,
        other => {
            return Err(PyValueError::new_err(format!(
                "reasoning must be \"separate\" or \"inline\", got {other:?}"
            )))
        }
    };
    let tool_calls_in_reasoning = match tool_calls_in_reasoning {
        "extract" => ToolCallsInReasoning::Extract,
        "ignore" => ToolCallsInReasoning::Ignore,
        other => {
            return Err(PyValueError::new_err(format!(
                "tool_calls_in_reasoning must be \"extract\" or \"ignore\", got {other:?}"
            )))
        }
    };
    Ok(Options {
        tools: tools_from_py(py, tools)?,
        reasoning,
        start_in_reasoning,
        tool_calls_in_reasoning,
    })
}

fn check_id_generator(g: Option<Bound<'_, PyAny>>) -> PyResult<Option<Py<PyAny>>> {
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

fn dict<'py>(py: Python<'py>, items: &[(&str, Bound<'py, PyAny>)]) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (k, v) in items {
        d.set_item(k, v)?;
    }
    Ok(d)
}

fn any<'py, T: IntoPyObject<'py>>(py: Python<'py>, v: T) -> PyResult<Bound<'py, PyAny>> {
    v.into_pyobject(py)
        .map(|b| b.into_any().into_bound())
        .map_err(Into::into)
}

/// Reasoning text (`reasoning_content`).
#[pyclass(module = "minimax_parser", frozen, eq, get_all)]
#[derive(Clone, PartialEq)]
struct ReasoningDelta {
    text: String,
}

#[pymethods]
impl ReasoningDelta {
    #[new]
    fn new(text: String) -> Self {
        ReasoningDelta { text }
    }
    #[classattr]
    fn kind() -> &'static str {
        "reasoning"
    }
    fn to_openai_delta<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        dict(py, &[("reasoning_content", any(py, &self.text)?)])
    }
    fn __repr__(&self) -> String {
        format!("ReasoningDelta(text={:?})", self.text)
    }
}

/// Content text.
#[pyclass(module = "minimax_parser", frozen, eq, get_all)]
#[derive(Clone, PartialEq)]
struct ContentDelta {
    text: String,
}

#[pymethods]
impl ContentDelta {
    #[new]
    fn new(text: String) -> Self {
        ContentDelta { text }
    }
    #[classattr]
    fn kind() -> &'static str {
        "content"
    }
    fn to_openai_delta<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        dict(py, &[("content", any(py, &self.text)?)])
    }
    fn __repr__(&self) -> String {
        format!("ContentDelta(text={:?})", self.text)
    }
}

/// A tool call began; its name is complete.
#[pyclass(module = "minimax_parser", frozen, eq, get_all)]
#[derive(Clone, PartialEq)]
struct ToolCallStart {
    index: usize,
    id: String,
    name: String,
}

#[pymethods]
impl ToolCallStart {
    #[new]
    fn new(index: usize, id: String, name: String) -> Self {
        ToolCallStart { index, id, name }
    }
    #[classattr]
    fn kind() -> &'static str {
        "tool_call_start"
    }
    fn to_openai_delta<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let function = dict(
            py,
            &[("name", any(py, &self.name)?), ("arguments", any(py, "")?)],
        )?;
        let call = dict(
            py,
            &[
                ("index", any(py, self.index)?),
                ("id", any(py, &self.id)?),
                ("type", any(py, "function")?),
                ("function", function.into_any()),
            ],
        )?;
        dict(py, &[("tool_calls", PyList::new(py, [call])?.into_any())])
    }
    fn __repr__(&self) -> String {
        format!(
            "ToolCallStart(index={}, id={:?}, name={:?})",
            self.index, self.id, self.name
        )
    }
}

/// More of a tool call's `arguments` JSON text.
#[pyclass(module = "minimax_parser", frozen, eq, get_all)]
#[derive(Clone, PartialEq)]
struct ToolCallDelta {
    index: usize,
    arguments: String,
}

#[pymethods]
impl ToolCallDelta {
    #[new]
    fn new(index: usize, arguments: String) -> Self {
        ToolCallDelta { index, arguments }
    }
    #[classattr]
    fn kind() -> &'static str {
        "tool_call_delta"
    }
    fn to_openai_delta<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let function = dict(py, &[("arguments", any(py, &self.arguments)?)])?;
        let call = dict(
            py,
            &[
                ("index", any(py, self.index)?),
                ("function", function.into_any()),
            ],
        )?;
        dict(py, &[("tool_calls", PyList::new(py, [call])?.into_any())])
    }
    fn __repr__(&self) -> String {
        format!(
            "ToolCallDelta(index={}, arguments={:?})",
            self.index, self.arguments
        )
    }
}

/// A tool call ended, with its complete arguments.
#[pyclass(module = "minimax_parser", frozen, eq, get_all)]
#[derive(Clone, PartialEq)]
struct ToolCallEnd {
    index: usize,
    arguments: String,
    incomplete: bool,
}

#[pymethods]
impl ToolCallEnd {
    #[new]
    #[pyo3(signature = (index, arguments, incomplete=false))]
    fn new(index: usize, arguments: String, incomplete: bool) -> Self {
        ToolCallEnd {
            index,
            arguments,
            incomplete,
        }
    }
    #[classattr]
    fn kind() -> &'static str {
        "tool_call_end"
    }
    /// Nothing new for the client: the arguments were already streamed.
    fn to_openai_delta<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        Ok(PyDict::new(py))
    }
    fn __repr__(&self) -> String {
        format!(
            "ToolCallEnd(index={}, arguments={:?}, incomplete={})",
            self.index,
            self.arguments,
            if self.incomplete { "True" } else { "False" }
        )
    }
}

/// A complete tool call.
#[pyclass(module = "minimax_parser", frozen, eq, get_all)]
#[derive(Clone, PartialEq)]
struct ToolCall {
    index: usize,
    id: String,
    name: String,
    arguments: String,
    incomplete: bool,
}

#[pymethods]
impl ToolCall {
    #[new]
    #[pyo3(signature = (index, id, name, arguments, incomplete=false))]
    fn new(index: usize, id: String, name: String, arguments: String, incomplete: bool) -> Self {
        ToolCall {
            index,
            id,
            name,
            arguments,
            incomplete,
        }
    }
    /// `{"id", "type": "function", "function": {"name", "arguments"}}`.
    fn to_openai<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let function = dict(
            py,
            &[
                ("name", any(py, &self.name)?),
                ("arguments", any(py, &self.arguments)?),
            ],
        )?;
        dict(
            py,
            &[
                ("id", any(py, &self.id)?),
                ("type", any(py, "function")?),
                ("function", function.into_any()),
            ],
        )
    }
    fn __repr__(&self) -> String {
        format!(
            "ToolCall(index={}, id={:?}, name={:?}, arguments={:?}, incomplete={})",
            self.index,
            self.id,
            self.name,
            self.arguments,
            if self.incomplete { "True" } else { "False" }
        )
    }
}

/// The parsed assistant message. Its texts and calls are Python objects made once, so reading
/// an attribute twice gives the same object and a snapshot shares what did not change.
#[pyclass(module = "minimax_parser", frozen)]
struct Message {
    reasoning: Option<Py<PyString>>,
    content: Option<Py<PyString>>,
    tool_calls: Vec<Py<ToolCall>>,
}

#[pymethods]
impl Message {
    #[new]
    #[pyo3(signature = (reasoning=None, content=None, tool_calls=Vec::new()))]
    fn new(
        reasoning: Option<Py<PyString>>,
        content: Option<Py<PyString>>,
        tool_calls: Vec<Py<ToolCall>>,
    ) -> Self {
        Message {
            reasoning,
            content,
            tool_calls,
        }
    }
    #[getter]
    fn reasoning(&self, py: Python<'_>) -> Option<Py<PyString>> {
        self.reasoning.as_ref().map(|s| s.clone_ref(py))
    }
    #[getter]
    fn content(&self, py: Python<'_>) -> Option<Py<PyString>> {
        self.content.as_ref().map(|s| s.clone_ref(py))
    }
    #[getter]
    fn tool_calls(&self, py: Python<'_>) -> Vec<Py<ToolCall>> {
        self.tool_calls.iter().map(|c| c.clone_ref(py)).collect()
    }
    fn __eq__(&self, py: Python<'_>, other: PyRef<'_, Message>) -> PyResult<bool> {
        let same = |a: &Option<Py<PyString>>, b: &Option<Py<PyString>>| match (a, b) {
            (None, None) => Ok(true),
            (Some(a), Some(b)) => a.bind(py).as_any().eq(b.bind(py)),
            _ => Ok(false),
        };
        Ok(same(&self.reasoning, &other.reasoning)?
            && same(&self.content, &other.content)?
            && self.tool_calls.len() == other.tool_calls.len()
            && self
                .tool_calls
                .iter()
                .zip(&other.tool_calls)
                .all(|(a, b)| a.get() == b.get()))
    }
    /// The OpenAI assistant message dict; `tool_calls` only when there are calls.
    fn to_openai<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = dict(
            py,
            &[
                ("role", any(py, "assistant")?),
                ("content", any(py, self.content(py))?),
                ("reasoning_content", any(py, self.reasoning(py))?),
            ],
        )?;
        if !self.tool_calls.is_empty() {
            let calls = PyList::empty(py);
            for c in &self.tool_calls {
                calls.append(c.get().to_openai(py)?)?;
            }
            d.set_item("tool_calls", calls)?;
        }
        Ok(d)
    }
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let text = |s: &Option<Py<PyString>>| -> PyResult<String> {
            Ok(match s {
                Some(s) => format!("{:?}", s.bind(py).to_str()?),
                None => "None".to_string(),
            })
        };
        let calls: Vec<String> = self.tool_calls.iter().map(|c| c.get().__repr__()).collect();
        Ok(format!(
            "Message(reasoning={}, content={}, tool_calls=[{}])",
            text(&self.reasoning)?,
            text(&self.content)?,
            calls.join(", ")
        ))
    }
}

fn py_text(py: Python<'_>, s: Option<String>) -> Option<Py<PyString>> {
    s.map(|s| PyString::new(py, &s).unbind())
}

fn event_to_py(py: Python<'_>, e: Event) -> PyResult<Py<PyAny>> {
    Ok(match e {
        Event::Reasoning(text) => Py::new(py, ReasoningDelta { text })?.into_any(),
        Event::Content(text) => Py::new(py, ContentDelta { text })?.into_any(),
        Event::ToolCallStart { index, id, name } => {
            Py::new(py, ToolCallStart { index, id, name })?.into_any()
        }
        Event::ToolCallDelta { index, arguments } => {
            Py::new(py, ToolCallDelta { index, arguments })?.into_any()
        }
        Event::ToolCallEnd {
            index,
            arguments,
            incomplete,
        } => Py::new(
            py,
            ToolCallEnd {
                index,
                arguments,
                incomplete,
            },
        )?
        .into_any(),
    })
}

/// Applies the caller's `id_generator`, if any, to the core's ids.
struct IdMap {
    generator: Option<Py<PyAny>>,
}

impl IdMap {
    fn assign(&mut self, py: Python<'_>, index: usize, core_id: String) -> PyResult<String> {
        match &self.generator {
            Some(g) => call_id(py, g, index),
            None => Ok(core_id),
        }
    }
}

impl ToolCall {
    fn from_core(c: crate::ToolCall, id: String) -> Self {
        ToolCall {
            index: c.index,
            id,
            name: c.name,
            arguments: c.arguments,
            incomplete: c.incomplete,
        }
    }
}

/// Parses a complete response.
#[pyfunction]
#[pyo3(signature = (text, *, tools=None, reasoning="separate", start_in_reasoning=true,
                    tool_calls_in_reasoning="extract", id_generator=None))]
fn parse(
    py: Python<'_>,
    text: &Bound<'_, PyAny>,
    tools: Option<&Bound<'_, PyAny>>,
    reasoning: &str,
    start_in_reasoning: bool,
    tool_calls_in_reasoning: &str,
    id_generator: Option<Bound<'_, PyAny>>,
) -> PyResult<Message> {
    let text = text.cast::<PyString>().map_err(|_| {
        PyTypeError::new_err(format!(
            "text must be a str, got {}; decode bytes first",
            text.get_type()
                .name()
                .map(|n| n.to_string())
                .unwrap_or_default()
        ))
    })?;
    let text = text.to_str()?;
    let opts = make_options(
        py,
        tools,
        reasoning,
        start_in_reasoning,
        tool_calls_in_reasoning,
    )?;
    let mut ids = IdMap {
        generator: check_id_generator(id_generator)?,
    };
    let msg = py.detach(|| guard(|| Ok(crate::parse(text, opts))))?;
    let mut tool_calls = Vec::with_capacity(msg.tool_calls.len());
    for mut c in msg.tool_calls {
        let id = ids.assign(py, c.index, std::mem::take(&mut c.id))?;
        tool_calls.push(Py::new(py, ToolCall::from_core(c, id))?);
    }
    Ok(Message {
        reasoning: py_text(py, msg.reasoning),
        content: py_text(py, msg.content),
        tool_calls,
    })
}

/// The streaming parser for one response.
#[pyclass(module = "minimax_parser", name = "StreamParser")]
struct PyStreamParser {
    /// `None` once retired (a panic, or an `id_generator` that failed): its state cannot be
    /// trusted, or events were lost, so it refuses further use.
    inner: Option<StreamParser>,
    /// Why it was retired.
    retired: Option<&'static str>,
    ids: IdMap,
    so_far: SoFar,
}

/// What the events so far add up to, for `message()`: texts, ended calls, the open call's
/// header. Deltas are not copied: the open call's arguments come from the core when asked.
#[derive(Default)]
struct SoFar {
    reasoning: Text,
    content: Text,
    calls: Vec<Py<ToolCall>>,
    open: Option<(usize, String, String)>,
    /// The last snapshot, while no event has arrived since.
    last: Option<Py<Message>>,
}

/// A text channel and the Python string last made of it.
#[derive(Default)]
struct Text {
    text: String,
    made: Option<Py<PyString>>,
}

impl Text {
    fn push(&mut self, t: &str) {
        self.text.push_str(t);
        self.made = None;
    }

    /// The text with `tail` appended, as a Python string; without a tail, made once and reused.
    fn snapshot(&mut self, py: Python<'_>, tail: &str) -> Option<Py<PyString>> {
        if !tail.is_empty() {
            let mut s = String::with_capacity(self.text.len() + tail.len());
            s.push_str(&self.text);
            s.push_str(tail);
            return Some(PyString::new(py, &s).unbind());
        }
        if self.text.is_empty() {
            return None;
        }
        let made = self
            .made
            .get_or_insert_with(|| PyString::new(py, &self.text).unbind());
        Some(made.clone_ref(py))
    }
}

impl SoFar {
    fn push(&mut self, py: Python<'_>, e: &Event) -> PyResult<()> {
        self.last = None;
        match e {
            Event::Reasoning(t) => self.reasoning.push(t),
            Event::Content(t) => self.content.push(t),
            Event::ToolCallStart { index, id, name } => {
                self.open = Some((*index, id.clone(), name.clone()));
            }
            Event::ToolCallDelta { .. } => {}
            Event::ToolCallEnd {
                index,
                arguments,
                incomplete,
            } => {
                if let Some((open, id, name)) = self.open.take() {
                    debug_assert_eq!(open, *index);
                    let call = ToolCall {
                        index: *index,
                        id,
                        name,
                        arguments: arguments.clone(),
                        incomplete: *incomplete,
                    };
                    self.calls.push(Py::new(py, call)?);
                }
            }
        }
        Ok(())
    }

    /// The message so far plus `tail`, the events finishing now would add.
    fn snapshot(&mut self, py: Python<'_>, tail: Vec<Event>) -> PyResult<Py<Message>> {
        if tail.is_empty() {
            if let Some(last) = &self.last {
                return Ok(last.clone_ref(py));
            }
        }
        let (mut reasoning, mut content) = (String::new(), String::new());
        let mut calls: Vec<Py<ToolCall>> = self.calls.iter().map(|c| c.clone_ref(py)).collect();
        for e in &tail {
            match e {
                Event::Reasoning(t) => reasoning.push_str(t),
                Event::Content(t) => content.push_str(t),
                Event::ToolCallEnd {
                    index,
                    arguments,
                    incomplete,
                } => {
                    if let Some((_, id, name)) = &self.open {
                        let call = ToolCall {
                            index: *index,
                            id: id.clone(),
                            name: name.clone(),
                            arguments: arguments.clone(),
                            incomplete: *incomplete,
                        };
                        calls.push(Py::new(py, call)?);
                    }
                }
                Event::ToolCallStart { .. } | Event::ToolCallDelta { .. } => {}
            }
        }
        let message = Py::new(
            py,
            Message {
                reasoning: self.reasoning.snapshot(py, &reasoning),
                content: self.content.snapshot(py, &content),
                tool_calls: calls,
            },
        )?;
        if tail.is_empty() {
            self.last = Some(message.clone_ref(py));
        }
        Ok(message)
    }
}

#[pymethods]
impl PyStreamParser {
    #[new]
    #[pyo3(signature = (*, tools=None, reasoning="separate", start_in_reasoning=true,
                        tool_calls_in_reasoning="extract", id_generator=None))]
    fn new(
        py: Python<'_>,
        tools: Option<&Bound<'_, PyAny>>,
        reasoning: &str,
        start_in_reasoning: bool,
        tool_calls_in_reasoning: &str,
        id_generator: Option<Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let opts = make_options(
            py,
            tools,
            reasoning,
            start_in_reasoning,
            tool_calls_in_reasoning,
        )?;
        Ok(PyStreamParser {
            inner: Some(StreamParser::with_ids(opts, IdGenerator::random())),
            retired: None,
            ids: IdMap {
                generator: check_id_generator(id_generator)?,
            },
            so_far: SoFar::default(),
        })
    }

    /// Feeds the next piece of text; returns the events it completed (maybe none).
    fn feed<'py>(
        &mut self,
        py: Python<'py>,
        text: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyList>> {
        let text = text.cast::<PyString>().map_err(|_| {
            PyTypeError::new_err(format!(
                "feed() takes a str, got {}; decode bytes first",
                text.get_type()
                    .name()
                    .map(|n| n.to_string())
                    .unwrap_or_default()
            ))
        })?;
        let text = text.to_str()?;
        self.run(py, |p| p.feed(text))
    }

    /// Ends the response and returns the last events; feeding afterwards raises.
    fn finish<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        self.run(py, |p| p.finish())
    }

    /// True once `finish()` was called (or the parser was retired).
    #[getter]
    fn finished(&self) -> bool {
        self.inner.as_ref().is_none_or(StreamParser::is_finished)
    }

    /// The message so far: exactly what `finish()` would give if the response ended now (an
    /// open call `incomplete`, with valid JSON arguments). Taking it changes nothing.
    fn message(&mut self, py: Python<'_>) -> PyResult<Py<Message>> {
        let tail = match &self.inner {
            Some(p) => guard(|| Ok(p.preview_finish()))?,
            None => Vec::new(),
        };
        self.so_far.snapshot(py, tail)
    }

    fn __repr__(&self) -> String {
        format!("<minimax_parser.StreamParser finished={}>", self.finished())
    }
}

impl PyStreamParser {
    fn run<'py>(
        &mut self,
        py: Python<'py>,
        f: impl FnOnce(&mut StreamParser) -> Result<Vec<Event>, crate::Error>,
    ) -> PyResult<Bound<'py, PyList>> {
        let Some(parser) = self.inner.as_mut() else {
            return Err(PyRuntimeError::new_err(format!(
                "this StreamParser was retired after {} and cannot be used; \
                 create a new StreamParser",
                self.retired.unwrap_or("an internal error")
            )));
        };
        let events = match catch_unwind(AssertUnwindSafe(|| f(parser))) {
            Ok(r) => r?,
            Err(payload) => {
                self.retire("an internal error");
                return Err(panic_error(payload));
            }
        };
        let list = PyList::empty(py);
        for mut e in events {
            if let Event::ToolCallStart { index, id, .. } = &mut e {
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
            self.so_far.push(py, &e)?;
            list.append(event_to_py(py, e)?)?;
        }
        Ok(list)
    }

    fn retire(&mut self, why: &'static str) {
        self.inner = None;
        self.retired = Some(why);
    }
}

/// Panics inside the guard, so tests can check that a panic becomes a Python exception.
#[pyfunction]
fn _panic_for_tests(message: &str) -> PyResult<()> {
    guard(|| panic!("{message}"))
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(parse, m)?)?;
    m.add_function(wrap_pyfunction!(_panic_for_tests, m)?)?;
    m.add_class::<PyStreamParser>()?;
    m.add_class::<Message>()?;
    m.add_class::<ToolCall>()?;
    m.add_class::<ReasoningDelta>()?;
    m.add_class::<ContentDelta>()?;
    m.add_class::<ToolCallStart>()?;
    m.add_class::<ToolCallDelta>()?;
    m.add_class::<ToolCallEnd>()?;
    Ok(())
}
