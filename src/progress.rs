//! What the step running in this task reports while it works, without
//! threading a parameter through every layer: notes for the user ("waiting
//! for an earlier delete (operation-…) to finish"), the last transient error
//! a client retried, the operation it is waiting for, and whether an
//! interrupt asks it to stop waiting.
//!
//! The executor runs each step inside [`StepContext::scope`]; outside a step
//! (unit tests, `plan`) every function here is a no-op and
//! [`interrupted`] never resolves.

use std::future::Future;
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, watch};

tokio::task_local! {
    static CURRENT: StepContext;
}

/// Asks running steps to stop at the next point the next run can join.
#[derive(Debug, Clone)]
pub struct Interrupt(watch::Receiver<bool>);

/// The sending side of an [`Interrupt`].
#[derive(Debug)]
pub struct InterruptHandle(watch::Sender<bool>);

impl Interrupt {
    /// A new interrupt and the handle that triggers it.
    pub fn new() -> (InterruptHandle, Interrupt) {
        let (tx, rx) = watch::channel(false);
        (InterruptHandle(tx), Interrupt(rx))
    }

    /// An interrupt that never fires.
    pub fn never() -> Interrupt {
        Interrupt::new().1
    }

    /// Whether the interrupt has fired.
    pub fn is_set(&self) -> bool {
        *self.0.borrow()
    }

    /// Resolves once the interrupt fires (at once if it already has); never
    /// when its handle is dropped unfired.
    pub async fn fired(&self) {
        let mut rx = self.0.clone();
        if rx.wait_for(|set| *set).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

impl InterruptHandle {
    /// Fires the interrupt.
    pub fn fire(&self) {
        let _ = self.0.send(true);
    }
}

/// The context of one running step.
#[derive(Debug, Clone)]
pub struct StepContext {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    index: usize,
    notes: mpsc::UnboundedSender<(usize, String)>,
    last_error: Mutex<Option<String>>,
    operation: Mutex<Option<String>>,
    interrupt: Interrupt,
}

impl StepContext {
    /// The context of step `index`, whose notes go to `notes`.
    pub fn new(
        index: usize,
        notes: mpsc::UnboundedSender<(usize, String)>,
        interrupt: Interrupt,
    ) -> StepContext {
        StepContext {
            inner: Arc::new(Inner {
                index,
                notes,
                last_error: Mutex::new(None),
                operation: Mutex::new(None),
                interrupt,
            }),
        }
    }

    /// Runs `f` with this context as the current one.
    pub async fn scope<F: Future>(self, f: F) -> F::Output {
        CURRENT.scope(self, f).await
    }

    /// The last transient error the step's clients retried.
    pub fn last_error(&self) -> Option<String> {
        self.inner.last_error.lock().ok()?.clone()
    }

    /// The operation the step is waiting for now, if any.
    pub fn operation(&self) -> Option<String> {
        self.inner.operation.lock().ok()?.clone()
    }
}

/// The context of the step running in this task, if any.
pub fn current() -> Option<StepContext> {
    CURRENT.try_with(Clone::clone).ok()
}

/// Tells the user something about the running step (printed under its
/// address); a debug log line outside a step.
pub fn note(message: impl Into<String>) {
    let message = message.into();
    match current() {
        Some(c) => {
            let _ = c.inner.notes.send((c.inner.index, message));
        }
        None => tracing::debug!("{message}"),
    }
}

/// Records an error a client is about to retry (also logged as a warning,
/// inside the step's span).
pub fn transient_error(error: &dyn std::fmt::Display) {
    let text = error.to_string();
    tracing::warn!(error = %text, "transient error, retrying");
    if let Some(c) = current() {
        if let Ok(mut slot) = c.inner.last_error.lock() {
            *slot = Some(text);
        }
    }
}

/// Records the operation the step waits for (`None` once it is done).
pub fn waiting_for(operation: Option<&str>) {
    if let Some(c) = current() {
        if let Ok(mut slot) = c.inner.operation.lock() {
            *slot = operation.map(str::to_string);
        }
    }
}

/// Resolves when the run is interrupted; never outside a step.
pub async fn interrupted() {
    match current() {
        Some(c) => c.inner.interrupt.fired().await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn notes_errors_and_operations_reach_the_step_context() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let ctx = StepContext::new(3, tx, Interrupt::never());
        ctx.clone()
            .scope(async {
                note("waiting for an earlier delete (operation-1) to finish");
                transient_error(&"503 backendError");
                waiting_for(Some("operation-1"));
            })
            .await;
        assert_eq!(
            rx.recv().await,
            Some((
                3,
                "waiting for an earlier delete (operation-1) to finish".into()
            ))
        );
        assert_eq!(ctx.last_error().as_deref(), Some("503 backendError"));
        assert_eq!(ctx.operation().as_deref(), Some("operation-1"));
    }

    #[tokio::test]
    async fn interrupted_resolves_only_once_the_interrupt_fires() {
        let (tx, _rx) = mpsc::unbounded_channel();
        let (handle, interrupt) = Interrupt::new();
        let ctx = StepContext::new(0, tx, interrupt.clone());
        let waiting = tokio::spawn(ctx.scope(interrupted()));
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        handle.fire();
        waiting.await.unwrap();
        assert!(interrupt.is_set());
    }
}
