//! Paths to fronts. A front is one part of the gateway with its own clients and its own form
//! of answer: the phone pages, the branch console (`/branch`), the OTP API (`/api/`). The
//! router picks the front from the path alone and hands it the request with its body unread;
//! the front applies its gate, reads the body with its own limits and answers every error in
//! its own form.

use crate::app::App;
use crate::body::Body;
use crate::reply::Reply;
use hyper::Method;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;

/// A request as a front receives it: the head read, the body not.
pub type HttpRequest = hyper::Request<Body>;
/// A front's answer, to come.
pub type Answer<'a> = Pin<Box<dyn Future<Output = Reply> + Send + 'a>>;

/// One part of the gateway, answering the paths it owns.
pub trait Front: Send + Sync {
    /// Whether `path` is this front's.
    fn owns(&self, path: &str) -> bool;
    /// Answers one request; every error in this front's own form.
    fn answer<'a>(&'a self, app: &'a App, req: HttpRequest, peer: SocketAddr) -> Answer<'a>;
    /// Drops state that has expired (idle sessions); the server calls it now and then.
    fn sweep(&self) {}
}

/// The gateway: what every front shares ([`App`]) and the fronts themselves.
pub struct Gateway {
    pub app: App,
    /// Asked in order; the first that owns the path answers.
    fronts: Vec<Box<dyn Front>>,
    /// Every path no other front owns.
    phone: crate::phone::PhoneFront,
}

impl Gateway {
    pub fn new(app: App) -> Gateway {
        let fronts: Vec<Box<dyn Front>> = vec![
            Box::new(crate::api::ApiFront),
            Box::new(crate::branch::ConsoleFront::new()),
        ];
        Gateway {
            phone: crate::phone::PhoneFront::new(&app.config),
            app,
            fronts,
        }
    }

    /// Answers one request whose body has not been read.
    pub async fn dispatch(&self, mut req: HttpRequest, peer: SocketAddr) -> Reply {
        // A HEAD is answered as the GET it asks about; hyper sends the head only.
        if req.method() == Method::HEAD {
            *req.method_mut() = Method::GET;
        }
        let path = req.uri().path();
        match self.fronts.iter().find(|f| f.owns(path)) {
            Some(front) => front.answer(&self.app, req, peer).await,
            None => self.phone.answer(&self.app, req, peer).await,
        }
    }

    /// Drops every front's expired state.
    pub fn sweep(&self) {
        self.phone.sweep();
        for front in &self.fronts {
            front.sweep();
        }
    }
}
