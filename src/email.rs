//! Mail: rendering messages from askama templates, turning stored outbox rows into MIME
//! messages, and sending them (SMTP, `.eml` files or the log). Only this module touches lettre.
//!
//! Nothing here decides *when* to send: the outbox service claims rows and the worker threads
//! drive it.

pub mod compose;
pub mod smtp;
pub mod templates;
pub mod transport;
pub mod worker;

pub use compose::{Composer, HeaderInjection};
pub use templates::RenderedEmail;
pub use transport::{SendError, Transport};
