//! Paths to fronts ([`crate::front`]): the phone pages, the branch console (`/branch`), the OTP
//! API (`/api/`), the testers' emulator (`/emulator`), the metrics (`/metrics`). The router
//! picks the front from the path alone and hands it the request with its body unread; every
//! answer is counted in the metrics here. Adding a front is one line in [`Gateway::new`].

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
        // Phone sessions where the store keeps them (the database, on PostgreSQL).
        let phone = Arc::new(crate::phone::PhoneFront::for_app(&app));
        let fronts: Vec<Box<dyn Front>> = vec![
            Box::new(crate::api::ApiFront),
            Box::new(crate::branch::ConsoleFront::new()),
            // The testers' emulated phones are answered by the same phone pages.
            Box::new(crate::emulator::EmulatorFront::new(phone.clone())),
            Box::new(crate::metrics::MetricsFront),
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
        if path == crate::metrics::PATH {
            self.count_sessions();
        }
        let (name, reply) = match self.fronts.iter().find(|f| f.owns(path)) {
            Some(front) => (front.name(), front.answer(&self.app, req, peer).await),
            // The phone front's answer is awaited in place, not boxed: it serves most requests.
            None => (
                self.phone.name(),
                self.phone.handle(&self.app, req, peer).await,
            ),
        };
        self.app
            .metrics
            .request(name, reply.log_status(), reply.body.len());
        reply
    }

    /// Puts every front's live sessions into the metrics (when they are scraped).
    fn count_sessions(&self) {
        let fronts = std::iter::once(self.phone.as_ref() as &dyn Front)
            .chain(self.fronts.iter().map(|f| f.as_ref()));
        for front in fronts {
            if let Some(n) = front.live_sessions(&self.app) {
                self.app.metrics.live_sessions(front.name(), n);
            }
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
