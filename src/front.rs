//! What a front is: one part of the gateway with its own clients and its own form of answer
//! (phone pages, branch console, OTP API). A front applies its gate, reads the body with its own
//! limits and answers every error in its own form. The [`crate::router`] picks the front.

use crate::app::App;
use crate::body::Body;
use crate::reply::Reply;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;

/// A request as a front receives it: the head read, the body not.
pub type HttpRequest = hyper::Request<Body>;
/// A front's answer, to come.
pub type Answer<'a> = Pin<Box<dyn Future<Output = Reply> + Send + 'a>>;

/// One part of the gateway, answering the paths it owns.
pub trait Front: Send + Sync {
    /// The front's name in metrics (`requests{front=..}`).
    fn name(&self) -> &'static str;
    /// Whether `path` is this front's.
    fn owns(&self, path: &str) -> bool;
    /// Answers one request; every error in this front's own form.
    fn answer<'a>(&'a self, app: &'a App, req: HttpRequest, peer: SocketAddr) -> Answer<'a>;
    /// Drops state that has expired (idle sessions); the server calls it now and then.
    fn sweep(&self) {}
    /// How many sessions the front holds, if it keeps any (for metrics).
    fn live_sessions(&self, _app: &App) -> Option<usize> {
        None
    }
}
