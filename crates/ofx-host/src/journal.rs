//! What a plugin told the host — messages, persistent messages, progress — and what the
//! host noticed about the plugin (warnings), recorded so tests can assert on them; plus
//! the simulated "user pressed cancel".

use std::sync::Mutex;

/// The `kOfxMessage*` type of a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MessageKind {
    /// `kOfxMessageFatal`.
    Fatal,
    /// `kOfxMessageError`.
    Error,
    /// `kOfxMessageWarning`.
    Warning,
    /// `kOfxMessageMessage`.
    Message,
    /// `kOfxMessageLog`.
    Log,
    /// `kOfxMessageQuestion` (the host answers yes).
    Question,
}

impl MessageKind {
    /// Parses a `kOfxMessage*` string; unknown types count as plain messages.
    pub fn from_ofx_name(name: &str) -> MessageKind {
        match name {
            "OfxMessageFatal" => MessageKind::Fatal,
            "OfxMessageError" => MessageKind::Error,
            "OfxMessageWarning" => MessageKind::Warning,
            "OfxMessageLog" => MessageKind::Log,
            "OfxMessageQuestion" => MessageKind::Question,
            _ => MessageKind::Message,
        }
    }
}

/// One message a plugin posted through the message suite.
#[derive(Clone, Debug, PartialEq)]
pub struct HostMessage {
    /// Its type.
    pub kind: MessageKind,
    /// The plugin's message id ("" when none).
    pub id: String,
    /// The formatted text.
    pub text: String,
    /// True for `setPersistentMessage`.
    pub persistent: bool,
}

/// A progress-suite call.
#[derive(Clone, Debug, PartialEq)]
pub enum ProgressEvent {
    /// `progressStart` with its label.
    Start(String),
    /// `progressUpdate` with the fraction done.
    Update(f64),
    /// `progressEnd`.
    End,
}

#[derive(Default)]
struct Cancel {
    after: Option<usize>,
    updates: usize,
}

/// The record of one effect instance (or of a plugin's descriptors).
#[derive(Default)]
pub(crate) struct Journal {
    messages: Mutex<Vec<HostMessage>>,
    persistent: Mutex<Option<HostMessage>>,
    progress: Mutex<Vec<ProgressEvent>>,
    warnings: Mutex<Vec<String>>,
    cancel: Mutex<Cancel>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Journal {
    pub fn message(&self, message: HostMessage) {
        log::debug!("plugin message [{:?}] {}", message.kind, message.text);
        if message.persistent {
            *lock(&self.persistent) = Some(message.clone());
        }
        lock(&self.messages).push(message);
    }

    pub fn clear_persistent(&self) {
        *lock(&self.persistent) = None;
    }

    pub fn persistent(&self) -> Option<HostMessage> {
        lock(&self.persistent).clone()
    }

    pub fn messages(&self) -> Vec<HostMessage> {
        lock(&self.messages).clone()
    }

    pub fn take_messages(&self) -> Vec<HostMessage> {
        std::mem::take(&mut *lock(&self.messages))
    }

    /// Messages posted since `mark` (a length of [`Journal::messages`]), for errors.
    pub fn messages_since(&self, mark: usize) -> Vec<HostMessage> {
        lock(&self.messages).iter().skip(mark).cloned().collect()
    }

    pub fn message_count(&self) -> usize {
        lock(&self.messages).len()
    }

    /// Records something the host noticed the plugin doing wrong (once per text).
    pub fn warn(&self, text: String) {
        let mut warnings = lock(&self.warnings);
        if !warnings.contains(&text) {
            log::warn!("{text}");
            warnings.push(text);
        }
    }

    pub fn warnings(&self) -> Vec<String> {
        lock(&self.warnings).clone()
    }

    pub fn progress(&self, event: ProgressEvent) {
        lock(&self.progress).push(event);
    }

    pub fn progress_events(&self) -> Vec<ProgressEvent> {
        lock(&self.progress).clone()
    }

    /// Simulates the user pressing cancel once `n` progress updates have arrived.
    pub fn cancel_after(&self, n: Option<usize>) {
        *lock(&self.cancel) = Cancel { after: n, updates: 0 };
    }

    /// True once the user has "pressed cancel".
    pub fn cancelled(&self) -> bool {
        let c = lock(&self.cancel);
        c.after.is_some_and(|n| c.updates >= n)
    }

    /// Counts a progress update; false (reply "no") when the user has cancelled.
    pub fn progress_update(&self, fraction: f64) -> bool {
        self.progress(ProgressEvent::Update(fraction));
        let mut c = lock(&self.cancel);
        if c.after.is_some_and(|n| c.updates >= n) {
            return false;
        }
        c.updates += 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cancel_after_n_updates_refuses_the_next_one() {
        let j = Journal::default();
        assert!(j.progress_update(0.1), "no cancel requested");
        j.cancel_after(Some(2));
        assert!(!j.cancelled());
        assert!(j.progress_update(0.2));
        assert!(j.progress_update(0.3));
        assert!(j.cancelled());
        assert!(!j.progress_update(0.4));
        j.cancel_after(None);
        assert!(!j.cancelled() && j.progress_update(0.5));
        assert_eq!(j.progress_events().len(), 5);
    }

    #[test]
    fn persistent_messages_are_kept_until_cleared() {
        let j = Journal::default();
        let m = HostMessage { kind: MessageKind::Error, id: String::new(), text: "no model".into(), persistent: true };
        j.message(m.clone());
        assert_eq!(j.persistent(), Some(m));
        j.clear_persistent();
        assert_eq!(j.persistent(), None);
        assert_eq!(j.take_messages().len(), 1);
        assert!(j.messages().is_empty());
    }
}
