//! The Python boundary (`minimax_parser._core`): the only code that knows about PyO3.
//!
//! Everything here is thin: options and `tools` from Python (`tools`), the event classes
//! (`events`), the message and its snapshots (`message`), the streaming parser (`stream`), and
//! a guard that turns a Rust panic into an ordinary Python exception.

mod events;
mod message;
mod stream;
mod tools;

use std::borrow::Cow;
use std::panic::{catch_unwind, AssertUnwindSafe};

use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};
use pyo3::BoundObject;

use crate::{Dialect, ReasoningMode, ToolCallsInReasoning};
use events::{ContentDelta, ReasoningDelta, ToolCallDelta, ToolCallEnd, ToolCallStart};
use message::{Message, ToolCall};
use stream::{check_id_generator, IdMap, PyStreamParser};
use tools::{options, Choice};

impl From<crate::Error> for PyErr {
    fn from(e: crate::Error) -> PyErr {
        match e {
            crate::Error::Finished => PyRuntimeError::new_err(e.to_string()),
            crate::Error::InvalidTool(_) => PyValueError::new_err(e.to_string()),
        }
    }
}

/// The exception a Rust panic turns into.
pub(super) fn panic_error(payload: Box<dyn std::any::Any + Send>) -> PyErr {
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
pub(super) fn guard<T>(f: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|p| Err(panic_error(p)))
}

pub(super) fn dict<'py>(
    py: Python<'py>,
    items: &[(&str, Bound<'py, PyAny>)],
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (k, v) in items {
        d.set_item(k, v)?;
    }
    Ok(d)
}

pub(super) fn any<'py, T: IntoPyObject<'py>>(py: Python<'py>, v: T) -> PyResult<Bound<'py, PyAny>> {
    v.into_pyobject(py)
        .map(|b| b.into_any().into_bound())
        .map_err(Into::into)
}

/// The model's text argument: a `str`, else a `TypeError` that says what was passed.
pub(super) fn text_arg<'a, 'py>(
    obj: &'a Bound<'py, PyAny>,
    what: &str,
) -> PyResult<&'a Bound<'py, PyString>> {
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
pub(super) trait ToText {
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
#[pyo3(signature = (text, *, tools=None, reasoning=Choice(ReasoningMode::Separate), start_in_reasoning=None,
                    tool_calls_in_reasoning=Choice(ToolCallsInReasoning::Extract), dialect=Choice(Dialect::M2), id_generator=None),
                    text_signature = "(text, *, tools=None, reasoning='separate', start_in_reasoning=None, tool_calls_in_reasoning='extract', dialect='m2', id_generator=None)")]
// One argument per keyword option: that is how PyO3 declares a Python signature.
#[allow(clippy::too_many_arguments)]
fn parse(
    py: Python<'_>,
    text: &Bound<'_, PyAny>,
    tools: Option<&Bound<'_, PyAny>>,
    reasoning: Choice<ReasoningMode>,
    start_in_reasoning: Option<bool>,
    tool_calls_in_reasoning: Choice<ToolCallsInReasoning>,
    dialect: Choice<Dialect>,
    id_generator: Option<Bound<'_, PyAny>>,
) -> PyResult<Message> {
    let text = text_arg(text, "text must be a str")?;
    let text = text.to_text();
    let opts = options(
        py,
        tools,
        reasoning,
        start_in_reasoning,
        tool_calls_in_reasoning,
        dialect,
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
