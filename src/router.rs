//! Paths to fronts ([`crate::front`]): the phone pages, the branch console (`/branch`), the OTP
//! API (`/api/`), the testers' emulator (`/emulator`). The router picks the front from the path
//! alone and hands it the request with its body unread. Adding a front is one line in
//! [`Gateway::new`].

use crate::app::App;
use crate::front::{Front, HttpRequest};
use crate::reply::Reply;
use hyper::Method;
use std::net::SocketAddr;
use std::sync::Arc;

/// The gateway: what every front shares ([`App`]) and the fronts themselves.
pub struct Gateway {
    pub app: App,
    /// Asked in order; the first that owns the path answers.
    fronts: Vec<Box<dyn Front>>,
    /// Every path no other front owns.
    phone: Arc<crate::phone::PhoneFront>,
}

impl Gateway {
    pub fn new(app: App) -> Gateway {
        let phone = Arc::new(crate::phone::PhoneFront::new(&app.config));
        let fronts: Vec<Box<dyn Front>> = vec![
            Box::new(crate::api::ApiFront),
            Box::new(crate::branch::ConsoleFront::new()),
            // The testers' emulated phones are answered by the same phone pages.
            Box::new(crate::emulator::EmulatorFront::new(phone.clone())),
        ];
        Gateway { phone, app, fronts }
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
            // The phone front's answer is awaited in place, not boxed: it serves most requests.
            None => self.phone.handle(&self.app, req, peer).await,
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
