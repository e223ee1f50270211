//! Sending short messages to citizens (one-time sign-in codes).
//!
//! [`Notifier`] is the port; adapters for production channels (SMTP e-mail,
//! an SMS gateway, the WhatsApp Cloud API) are not written yet. The demo uses
//! [`OutboxNotifier`], which keeps the messages in the database for the demo
//! outbox page (`/demo/buzon`), and a server without a channel uses
//! [`UnavailableNotifier`], which refuses to send.

use std::sync::Arc;

use certeza_core::Clock;
use certeza_store::Store;

/// The channel a message goes through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channel {
    /// A text message to the registered phone.
    Sms,
    /// An e-mail to the registered address.
    Email,
}

impl Channel {
    /// The channel's stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Sms => "sms",
            Channel::Email => "email",
        }
    }
}

/// A message to one citizen. Its `Debug` never shows the destination or the body.
pub struct OutgoingMessage {
    /// The channel.
    pub channel: Channel,
    /// The full destination (phone number or e-mail address): personal data.
    pub destination: String,
    /// The destination masked for display, e.g. `•••• ••34`.
    pub masked_destination: String,
    /// The text (it may hold a secret such as a one-time code).
    pub body: String,
}

impl std::fmt::Debug for OutgoingMessage {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("OutgoingMessage").field("channel", &self.channel).finish_non_exhaustive()
    }
}

/// Why a message was not sent. The text never holds the destination or body.
#[derive(Debug)]
pub enum NotifyError {
    /// No channel is configured on this server.
    NotConfigured,
    /// The channel failed; the text says how (without personal data).
    Failed(String),
}

impl std::fmt::Display for NotifyError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotifyError::NotConfigured => formatter.write_str("no notification channel is configured"),
            NotifyError::Failed(reason) => write!(formatter, "the notification channel failed: {reason}"),
        }
    }
}

impl std::error::Error for NotifyError {}

/// Sends messages to citizens. Implementations may block (they are called
/// from `spawn_blocking`).
pub trait Notifier: Send + Sync {
    /// Sends one message.
    fn send(&self, message: &OutgoingMessage) -> Result<(), NotifyError>;
}

/// Keeps every message in the database, for the demo outbox page. Only the
/// masked destination is stored.
pub struct OutboxNotifier {
    store: Arc<Store>,
    clock: Arc<dyn Clock>,
}

impl OutboxNotifier {
    /// An outbox in `store`.
    pub fn new(store: Arc<Store>, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }
}

impl Notifier for OutboxNotifier {
    fn send(&self, message: &OutgoingMessage) -> Result<(), NotifyError> {
        self.store
            .add_outbox_message(
                message.channel.as_str(),
                &message.masked_destination,
                &message.body,
                self.clock.now_unix_millis(),
            )
            .map_err(|error| NotifyError::Failed(error.to_string()))
    }
}

/// Refuses to send: the server has no notification channel configured.
pub struct UnavailableNotifier;

impl Notifier for UnavailableNotifier {
    fn send(&self, _message: &OutgoingMessage) -> Result<(), NotifyError> {
        Err(NotifyError::NotConfigured)
    }
}

/// Masks a phone number, keeping its last two digits.
pub fn mask_phone(phone: &str) -> String {
    let digits: Vec<char> = phone.chars().filter(char::is_ascii_digit).collect();
    let tail: String = digits.iter().skip(digits.len().saturating_sub(2)).collect();
    format!("•••• ••{tail}")
}

/// Masks an e-mail address, keeping its first character and its domain.
pub fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}•••@{domain}")
        }
        None => "•••".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_keep_little() {
        assert_eq!(mask_phone("55 1234 5678"), "•••• ••78");
        assert_eq!(mask_email("maria@example.mx"), "m•••@example.mx");
        assert_eq!(mask_email("no-at-sign"), "•••");
    }

    #[test]
    fn debug_hides_destination_and_body() {
        let message = OutgoingMessage {
            channel: Channel::Sms,
            destination: "5512345678".to_owned(),
            masked_destination: "•••• ••78".to_owned(),
            body: "código 123456".to_owned(),
        };
        let shown = format!("{message:?}");
        assert!(!shown.contains("5512345678") && !shown.contains("123456"), "{shown}");
    }
}
