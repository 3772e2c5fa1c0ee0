//! Mail: rendering messages from askama templates, turning stored outbox rows into MIME
//! messages, and sending them (SMTP, `.eml` files or the log). Only this module touches lettre.
//!
//! Nothing here decides *when* to send, and nothing here knows the use cases: the
//! [`workers`](crate::workers) claim outbox rows and send them through this module.

pub mod compose;
pub mod smtp;
pub mod templates;
pub mod transport;

pub use compose::{Composer, HeaderInjection};
pub use templates::RenderedEmail;
pub use transport::{SendError, Transport};
