//! `tools` and options from Python: plain JSON data converted into `serde_json` values with a
//! nesting limit (SPEC §9), then compiled by the core with the GIL released; option strings
//! parsed by the core's `FromStr`.

use std::str::FromStr;
use std::sync::Arc;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde_json::Value;

use super::guard;
use crate::{Options, ToolSet, UnknownOption};

/// How deep a `tools` list may nest (lists and dicts), counted from the list itself (SPEC §9).
/// The conversion recurses, so the limit keeps it far from any thread's stack size; real tool
/// schemas nest a few dozen levels at most.
pub(super) const MAX_TOOLS_NESTING: usize = 128;

/// Why a `tools` value could not be converted; the path is collected on the way out, so the
/// conversion builds no path strings unless it fails.
enum ConvError {
    Py(PyErr),
    Type(String, Vec<String>),
    Invalid(String, Vec<String>),
    TooDeep(Vec<String>),
}

impl From<PyErr> for ConvError {
    fn from(e: PyErr) -> Self {
        ConvError::Py(e)
    }
}

impl ConvError {
    fn at(mut self, segment: impl FnOnce() -> String) -> Self {
        if let ConvError::Type(_, path) | ConvError::Invalid(_, path) | ConvError::TooDeep(path) =
            &mut self
        {
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
            ConvError::Invalid(msg, segments) => {
                PyValueError::new_err(format!("{}: {msg}", path(segments)))
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
/// It runs no code of the caller's: containers are read through the C API (a snapshot of a
/// dict's items, list items by index), an `int` through `int.__repr__`, so subclasses cannot
/// change what is read or mutate it mid-read.
fn to_json(obj: &Bound<'_, PyAny>, depth: usize) -> Result<Value, ConvError> {
    if obj.is_none() {
        Ok(Value::Null)
    } else if let Ok(b) = obj.cast::<PyBool>() {
        Ok(Value::Bool(b.is_true()))
    } else if obj.is_instance_of::<PyInt>() {
        let repr = obj
            .py()
            .get_type::<PyInt>()
            .call_method1("__repr__", (obj,));
        let text = repr
            .and_then(|r| r.extract::<String>())
            .map_err(|e| ConvError::Invalid(format!("an int that cannot be read: {e}"), vec![]))?;
        serde_json::from_str(&text)
            .map_err(|_| ConvError::Invalid(format!("an int that is not JSON: {text}"), vec![]))
    } else if let Ok(f) = obj.cast::<PyFloat>() {
        serde_json::Number::from_f64(f.value())
            .map(Value::Number)
            .ok_or_else(|| {
                ConvError::Invalid(format!("{} is not a JSON number", f.value()), vec![])
            })
    } else if let Ok(s) = obj.cast::<PyString>() {
        s.to_str()
            .map(|s| Value::String(s.to_string()))
            .map_err(|_| ConvError::Invalid("a str that is not valid Unicode".into(), vec![]))
    } else if let Ok(d) = obj.cast::<PyDict>() {
        if depth >= MAX_TOOLS_NESTING {
            return Err(ConvError::TooDeep(Vec::new()));
        }
        let mut map = serde_json::Map::new();
        for pair in d.items().iter() {
            let (k, v): (Bound<'_, PyAny>, Bound<'_, PyAny>) = pair.extract()?;
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
    } else if let Ok(items) = obj.cast::<PyList>() {
        if depth >= MAX_TOOLS_NESTING {
            return Err(ConvError::TooDeep(Vec::new()));
        }
        let items = items.to_tuple();
        array(&items, depth)
    } else if let Ok(items) = obj.cast::<PyTuple>() {
        if depth >= MAX_TOOLS_NESTING {
            return Err(ConvError::TooDeep(Vec::new()));
        }
        array(items, depth)
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

fn array(items: &Bound<'_, PyTuple>, depth: usize) -> Result<Value, ConvError> {
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        out.push(to_json(&item, depth + 1).map_err(|e| e.at(|| format!("[{i}]")))?);
    }
    Ok(Value::Array(out))
}

fn tools_from_py(
    py: Python<'_>,
    tools: Option<&Bound<'_, PyAny>>,
    dialect: crate::Dialect,
) -> PyResult<Arc<ToolSet>> {
    let Some(tools) = tools.filter(|t| !t.is_none()) else {
        return Ok(Arc::new(ToolSet::default()));
    };
    let tools = match (tools.cast::<PyList>(), tools.cast::<PyTuple>()) {
        (Ok(list), _) => list.to_tuple(),
        (_, Ok(tuple)) => tuple.clone(),
        _ => {
            return Err(PyTypeError::new_err(format!(
                "tools must be a list of dicts (the request's `tools`), got {}",
                tools.get_type().name()?
            )))
        }
    };
    let mut defs = Vec::with_capacity(tools.len());
    for (i, t) in tools.iter().enumerate() {
        if !t.is_instance_of::<PyDict>() {
            return Err(PyTypeError::new_err(format!(
                "tools[{i}] must be a dict like {{\"type\": \"function\", \"function\": {{\"name\": …, \
                 \"parameters\": …}}}}, got {}",
                t.get_type().name()?
            )));
        }
        let def = guard(|| to_json(&t, 1).map_err(|e| e.into_py(&format!("tools[{i}]"))))?;
        defs.push(def);
    }
    // Compiling is linear in the schemas' size (SPEC §9); other Python threads run meanwhile.
    let set = py.detach(|| guard(|| Ok(ToolSet::for_dialect(&defs, dialect)?)))?;
    Ok(Arc::new(set))
}

/// An option given as a string, parsed once by the core's `FromStr` (a `ValueError` listing the
/// choices otherwise).
pub(super) struct Choice<T>(pub(super) T);

impl<'a, 'py, T: FromStr<Err = UnknownOption>> FromPyObject<'a, 'py> for Choice<T> {
    type Error = PyErr;
    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        let s = obj.cast::<PyString>().map_err(|_| {
            let got = obj.get_type().name().map(|n| n.to_string());
            PyTypeError::new_err(format!(
                "expected a str option, got {}",
                got.unwrap_or_default()
            ))
        })?;
        s.to_str()?
            .parse()
            .map(Choice)
            .map_err(|e: UnknownOption| PyValueError::new_err(e.to_string()))
    }
}

/// The options of `parse` and `StreamParser`.
pub(super) fn options(
    py: Python<'_>,
    tools: Option<&Bound<'_, PyAny>>,
    reasoning: Choice<crate::ReasoningMode>,
    start_in_reasoning: Option<bool>,
    tool_calls_in_reasoning: Choice<crate::ToolCallsInReasoning>,
    dialect: Choice<crate::Dialect>,
) -> PyResult<Options> {
    let dialect = dialect.0;
    Ok(Options {
        tools: tools_from_py(py, tools, dialect)?,
        reasoning: reasoning.0,
        start_in_reasoning: start_in_reasoning.unwrap_or(dialect.starts_in_reasoning()),
        tool_calls_in_reasoning: tool_calls_in_reasoning.0,
        dialect,
    })
}
