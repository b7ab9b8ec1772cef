//! The message as Python sees it (`Message`, `ToolCall`), and what lets a snapshot share with
//! its parser instead of copying: append-only logs read up to a length on first access.

use std::sync::{Arc, OnceLock, PoisonError, RwLock};

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};

use super::{any, dict};

/// An append-only value shared by a parser and its snapshots: a snapshot keeps a length and
/// copies out its prefix only when read, so taking one costs O(new events) (SPEC §5).
pub(super) struct Log<T>(Arc<RwLock<T>>);

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
    pub(super) fn write(&self, f: impl FnOnce(&mut T)) {
        // A poisoned lock means a panic while appending; the data is still an append-only prefix.
        f(&mut self.0.write().unwrap_or_else(PoisonError::into_inner));
    }

    pub(super) fn read<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        f(&self.0.read().unwrap_or_else(PoisonError::into_inner))
    }
}

/// A text: given whole, or a prefix of a [`Log`] plus a tail, made on first read.
pub(super) enum Text {
    Whole(String),
    Snapshot {
        log: Log<String>,
        len: usize,
        tail: String,
        made: OnceLock<String>,
    },
}

impl Text {
    pub(super) fn snapshot(log: &Log<String>, tail: String) -> Text {
        Text::Snapshot {
            log: log.clone(),
            len: log.read(String::len),
            tail,
            made: OnceLock::new(),
        }
    }

    pub(super) fn get(&self) -> &str {
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

    pub(super) fn is_empty(&self) -> bool {
        match self {
            Text::Whole(s) => s.is_empty(),
            Text::Snapshot { len, tail, .. } => *len == 0 && tail.is_empty(),
        }
    }
}

/// A complete tool call.
#[pyclass(module = "minimax_parser", frozen)]
pub(super) struct ToolCall {
    #[pyo3(get)]
    pub(super) index: usize,
    #[pyo3(get)]
    pub(super) id: String,
    #[pyo3(get)]
    pub(super) name: String,
    pub(super) arguments: Text,
    #[pyo3(get)]
    pub(super) incomplete: bool,
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
    pub(super) fn new(
        index: usize,
        id: String,
        name: String,
        arguments: String,
        incomplete: bool,
    ) -> Self {
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
pub(super) struct PyText {
    pub(super) text: Text,
    pub(super) made: OnceLock<Py<PyString>>,
}

impl PyText {
    pub(super) fn new(text: Text) -> Option<Arc<PyText>> {
        (!text.is_empty()).then(|| {
            Arc::new(PyText {
                text,
                made: OnceLock::new(),
            })
        })
    }

    pub(super) fn get(&self, py: Python<'_>) -> Py<PyString> {
        self.made
            .get_or_init(|| PyString::new(py, self.text.get()).unbind())
            .clone_ref(py)
    }
}

/// The calls of a message: the first `ended` of a shared log, then maybe one more.
pub(super) struct Calls {
    pub(super) log: Log<Vec<Py<ToolCall>>>,
    pub(super) ended: usize,
    pub(super) open: Option<Py<ToolCall>>,
}

impl Calls {
    pub(super) fn whole(calls: Vec<Py<ToolCall>>) -> Calls {
        Calls {
            ended: calls.len(),
            log: Log(Arc::new(RwLock::new(calls))),
            open: None,
        }
    }

    pub(super) fn list(&self, py: Python<'_>) -> Vec<Py<ToolCall>> {
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
pub(super) struct Message {
    pub(super) reasoning: Option<Arc<PyText>>,
    pub(super) content: Option<Arc<PyText>>,
    pub(super) calls: Calls,
}

#[pymethods]
impl Message {
    #[new]
    #[pyo3(signature = (reasoning=None, content=None, tool_calls=Vec::new()))]
    pub(super) fn new(
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

impl ToolCall {
    /// A core call, with the id the caller's generator gave it.
    pub(super) fn from_core(c: crate::ToolCall, id: String) -> Self {
        ToolCall {
            index: c.index,
            id,
            name: c.name,
            arguments: Text::Whole(c.arguments),
            incomplete: c.incomplete,
        }
    }
}
