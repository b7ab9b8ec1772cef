//! The Python boundary (`minimax_parser._core`): the only file that knows about PyO3.
//!
//! Everything here is thin: option validation with messages that list the valid values,
//! conversion of core events into small frozen Python objects, and a guard that turns a Rust
//! panic into an ordinary Python exception and retires the parser that hit it.

use std::borrow::Cow;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, OnceLock, PoisonError, RwLock};

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

/// An append-only value shared by a parser and its snapshots: a snapshot keeps a length and
/// copies out its prefix only when read, so taking one costs O(new events) (SPEC §5).
struct Log<T>(Arc<RwLock<T>>);

impl<T: Default> Default for Log<T> {
    fn default() -> Self {
        Log(Arc::default())
    }
}

impl<T> Clone for Log<T> {
    fn clone(&self) -> Self {
        Log(Arc::clone(&self.0))
    }
}

impl<T> Log<T> {
    fn write(&self, f: impl FnOnce(&mut T)) {
        // A poisoned lock means a panic while appending; the data is still an append-only prefix.
        f(&mut self.0.write().unwrap_or_else(PoisonError::into_inner));
    }

    fn read<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        f(&self.0.read().unwrap_or_else(PoisonError::into_inner))
    }
}

/// A text: given whole, or a prefix of a [`Log`] plus a tail, made on first read.
enum Text {
    Whole(String),
    Snapshot {
        log: Log<String>,
        len: usize,
        tail: String,
        made: OnceLock<String>,
    },
}

impl Text {
    fn snapshot(log: &Log<String>, tail: String) -> Text {
        Text::Snapshot {
            log: log.clone(),
            len: log.read(String::len),
            tail,
            made: OnceLock::new(),
        }
    }

    fn get(&self) -> &str {
        match self {
            Text::Whole(s) => s,
            Text::Snapshot {
                log,
                len,
                tail,
                made,
            } => made.get_or_init(|| {
                log.read(|s| {
                    let mut out = String::with_capacity(len + tail.len());
                    out.push_str(&s[..*len]);
                    out.push_str(tail);
                    out
                })
            }),
        }
    }

    fn is_empty(&self) -> bool {
        match self {
            Text::Whole(s) => s.is_empty(),
            Text::Snapshot { len, tail, .. } => *len == 0 && tail.is_empty(),
        }
    }
}

/// A complete tool call.
#[pyclass(module = "minimax_parser", frozen)]
struct ToolCall {
    #[pyo3(get)]
    index: usize,
    #[pyo3(get)]
    id: String,
    #[pyo3(get)]
    name: String,
    arguments: Text,
    #[pyo3(get)]
    incomplete: bool,
}

impl PartialEq for ToolCall {
    fn eq(&self, o: &Self) -> bool {
        (
            self.index,
            &self.id,
            &self.name,
            self.arguments.get(),
            self.incomplete,
        ) == (o.index, &o.id, &o.name, o.arguments.get(), o.incomplete)
    }
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
            arguments: Text::Whole(arguments),
            incomplete,
        }
    }
    #[getter]
    fn arguments(&self) -> &str {
        self.arguments.get()
    }
    fn __eq__(&self, other: PyRef<'_, ToolCall>) -> bool {
        *self == *other
    }
    /// `{"id", "type": "function", "function": {"name", "arguments"}}`.
    fn to_openai<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let function = dict(
            py,
            &[
                ("name", any(py, &self.name)?),
                ("arguments", any(py, self.arguments.get())?),
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
            self.arguments.get(),
            if self.incomplete { "True" } else { "False" }
        )
    }
}

/// A message text, made into a Python string once.
struct PyText {
    text: Text,
    made: OnceLock<Py<PyString>>,
}

impl PyText {
    fn new(text: Text) -> Option<Arc<PyText>> {
        (!text.is_empty()).then(|| {
            Arc::new(PyText {
                text,
                made: OnceLock::new(),
            })
        })
    }

    fn get(&self, py: Python<'_>) -> Py<PyString> {
        self.made
            .get_or_init(|| PyString::new(py, self.text.get()).unbind())
            .clone_ref(py)
    }
}

/// The calls of a message: the first `ended` of a shared log, then maybe one more.
struct Calls {
    log: Log<Vec<Py<ToolCall>>>,
    ended: usize,
    open: Option<Py<ToolCall>>,
}

impl Calls {
    fn whole(calls: Vec<Py<ToolCall>>) -> Calls {
        Calls {
            ended: calls.len(),
            log: Log(Arc::new(RwLock::new(calls))),
            open: None,
        }
    }

    fn list(&self, py: Python<'_>) -> Vec<Py<ToolCall>> {
        let mut out: Vec<Py<ToolCall>> = self
            .log
            .read(|v| v[..self.ended].iter().map(|c| c.clone_ref(py)).collect());
        out.extend(self.open.as_ref().map(|c| c.clone_ref(py)));
        out
    }
}

/// The parsed assistant message. What a snapshot shares with the parser is read on first access,
/// and each attribute gives the same object every time.
#[pyclass(module = "minimax_parser", frozen)]
struct Message {
    reasoning: Option<Arc<PyText>>,
    content: Option<Arc<PyText>>,
    calls: Calls,
}

#[pymethods]
impl Message {
    #[new]
    #[pyo3(signature = (reasoning=None, content=None, tool_calls=Vec::new()))]
    fn new(
        reasoning: Option<String>,
        content: Option<String>,
        tool_calls: Vec<Py<ToolCall>>,
    ) -> Self {
        Message {
            reasoning: reasoning.and_then(|s| PyText::new(Text::Whole(s))),
            content: content.and_then(|s| PyText::new(Text::Whole(s))),
            calls: Calls::whole(tool_calls),
        }
    }
    #[getter]
    fn reasoning(&self, py: Python<'_>) -> Option<Py<PyString>> {
        self.reasoning.as_ref().map(|t| t.get(py))
    }
    #[getter]
    fn content(&self, py: Python<'_>) -> Option<Py<PyString>> {
        self.content.as_ref().map(|t| t.get(py))
    }
    #[getter]
    fn tool_calls(&self, py: Python<'_>) -> Vec<Py<ToolCall>> {
        self.calls.list(py)
    }
    fn __eq__(&self, py: Python<'_>, other: PyRef<'_, Message>) -> bool {
        let text = |t: &Option<Arc<PyText>>| t.as_ref().map(|t| t.text.get().to_owned());
        let (mine, theirs) = (self.calls.list(py), other.calls.list(py));
        text(&self.reasoning) == text(&other.reasoning)
            && text(&self.content) == text(&other.content)
            && mine.len() == theirs.len()
            && mine.iter().zip(&theirs).all(|(a, b)| a.get() == b.get())
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
        let calls = self.calls.list(py);
        if !calls.is_empty() {
            let list = PyList::empty(py);
            for c in &calls {
                list.append(c.get().to_openai(py)?)?;
            }
            d.set_item("tool_calls", list)?;
        }
        Ok(d)
    }
    fn __repr__(&self, py: Python<'_>) -> String {
        let text = |t: &Option<Arc<PyText>>| {
            t.as_ref()
                .map_or_else(|| "None".to_string(), |t| format!("{:?}", t.text.get()))
        };
        let calls: Vec<String> = self
            .calls
            .list(py)
            .iter()
            .map(|c| c.get().__repr__())
            .collect();
        format!(
            "Message(reasoning={}, content={}, tool_calls=[{}])",
            text(&self.reasoning),
            text(&self.content),
            calls.join(", ")
        )
    }
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
            arguments: Text::Whole(c.arguments),
            incomplete: c.incomplete,
        }
    }
}

/// The model's text argument: a `str`, else a `TypeError` that says what was passed.
fn text_arg<'a, 'py>(obj: &'a Bound<'py, PyAny>, what: &str) -> PyResult<&'a Bound<'py, PyString>> {
    obj.cast::<PyString>().map_err(|_| {
        let got = obj.get_type().name().map(|n| n.to_string());
        PyTypeError::new_err(format!(
            "{what}, got {}; decode bytes first",
            got.unwrap_or_default()
        ))
    })
}

/// The text of a `str`; lone surrogates (not Unicode, e.g. from `errors="surrogateescape"`)
/// become U+FFFD, since model output never raises.
trait ToText {
    fn to_text(&self) -> Cow<'_, str>;
}

impl ToText for Bound<'_, PyString> {
    fn to_text(&self) -> Cow<'_, str> {
        if let Ok(s) = self.to_str() {
            return Cow::Borrowed(s);
        }
        // One U+FFFD per code point that is not a scalar value, so any split of the text gives
        // the same characters (UTF-16 would pair adjacent surrogates, UTF-8 gives three each).
        let units = self
            .call_method1("encode", ("utf-32-le", "surrogatepass"))
            .and_then(|b| b.extract::<Vec<u8>>());
        Cow::Owned(match units {
            Ok(bytes) => bytes
                .chunks_exact(4)
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .map(|u| char::from_u32(u).unwrap_or(char::REPLACEMENT_CHARACTER))
                .collect(),
            Err(_) => self.to_string_lossy().into_owned(),
        })
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
    let text = text_arg(text, "text must be a str")?;
    let text = text.to_text();
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
    let msg = py.detach(|| guard(|| Ok(crate::parse(&text, opts))))?;
    let mut tool_calls = Vec::with_capacity(msg.tool_calls.len());
    for mut c in msg.tool_calls {
        let id = ids.assign(py, c.index, std::mem::take(&mut c.id))?;
        tool_calls.push(Py::new(py, ToolCall::from_core(c, id))?);
    }
    Ok(Message::new(msg.reasoning, msg.content, tool_calls))
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
        let text = text_arg(text, "feed() takes a str")?;
        let text = text.to_text();
        self.run(py, |p| p.feed(&text))
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
        if let Some(last) = &self.so_far.last {
            return Ok(last.clone_ref(py));
        }
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
        self.so_far.last = None;
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
        let list = PyList::empty(py);
        for e in events {
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
