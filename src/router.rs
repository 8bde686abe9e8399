//! Paths to fronts ([`crate::front`]): the phone pages, the branch console (`/branch`), the OTP
//! API (`/api/`), the testers' emulator (`/emulator`), the metrics (`/metrics`). The router
//! picks the front from the path alone and hands it the request with its body unread; every
//! answer is counted in the metrics here. Adding a front is one line in [`Fronts::new`].
//!
//! A multi-bank gateway first picks the bank ([`crate::banks::Site`]: host name or `/CODE`
//! prefix); each bank has fronts (and metrics, `/CODE/metrics`) of its own, so sessions and
//! caches never cross banks.

use crate::app::App;
use crate::banks::Site;
use crate::front::{Front, HttpRequest};
use crate::reply::Reply;
use hyper::http::request::Parts;
use hyper::Method;
use std::net::SocketAddr;
use std::sync::Arc;

/// One bank's fronts and what they share.
struct Fronts {
    app: App,
    /// Asked in order; the first that owns the path answers.
    fronts: Vec<Box<dyn Front>>,
    /// Every path no other front owns.
    phone: Arc<crate::phone::PhoneFront>,
}

impl Fronts {
    fn new(app: App) -> Fronts {
        // Phone sessions where the store keeps them (the database, on PostgreSQL).
        let phone = Arc::new(crate::phone::PhoneFront::for_app(&app));
        let fronts: Vec<Box<dyn Front>> = vec![
            Box::new(crate::api::ApiFront),
            Box::new(crate::branch::ConsoleFront::new()),
            // The testers' emulated phones are answered by the same phone pages.
            Box::new(crate::emulator::EmulatorFront::new(phone.clone())),
            Box::new(crate::metrics::MetricsFront),
        ];
        Fronts { phone, app, fronts }
    }

    /// The answer, if it needs nothing waited for (see [`crate::phone::PhoneFront::answer_now`]).
    fn answer_now(&self, head: &Parts, body_empty: bool, peer: SocketAddr) -> Option<Reply> {
        let path = head.uri.path();
        if self.fronts.iter().any(|f| f.owns(path)) {
            return None;
        }
        let reply = self.phone.answer_now(&self.app, head, body_empty, peer)?;
        Some(self.counted(self.phone.name(), reply))
    }

    async fn answer(&self, req: HttpRequest, peer: SocketAddr) -> Reply {
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
        self.counted(name, reply)
    }

    /// `reply`, counted in the metrics as `front`'s answer.
    fn counted(&self, front: &'static str, reply: Reply) -> Reply {
        self.app
            .metrics
            .request(front, reply.log_status(), reply.body.len());
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

    fn sweep(&self) {
        if let Err(e) = self.app.write_cancel_counts() {
            crate::log::log(format_args!("storage error: {e}"));
        }
        // An import whose tool died on PostgreSQL is finished (or its staged rows dropped) by
        // the first gateway to notice, not only at the next start.
        if let Err(e) = self.app.store.finish_cut_short_import() {
            crate::log::log(format_args!("storage error: {e}"));
        }
        // A published 法人 import whose importer died, on either engine.
        if let Err(e) = crate::operate::businesses::finish_cut_short(&self.app.store) {
            crate::log::log(format_args!("storage error: {e}"));
        }
        self.phone.sweep();
        for front in &self.fronts {
            front.sweep();
        }
    }
}

/// What [`Gateway::answer_now`] decided.
pub enum Routed {
    /// The answer, made without waiting.
    Now(Reply),
    /// The bank (an index) whose fronts answer, in [`Gateway::answer`].
    Bank(usize),
}

/// The gateway: every bank's fronts; one bank answers every path, several by [`Site`].
pub struct Gateway {
    banks: Vec<(Option<Site>, Fronts)>,
}

impl Gateway {
    /// A one-bank gateway: its paths unprefixed.
    pub fn new(app: App) -> Gateway {
        Gateway {
            banks: vec![(None, Fronts::new(app))],
        }
    }

    /// A multi-bank gateway, each bank reached by its site. `apps` carry their sites' base.
    pub fn banks(apps: Vec<(Site, App)>) -> Gateway {
        Gateway {
            banks: apps
                .into_iter()
                .map(|(site, app)| (Some(site), Fronts::new(app)))
                .collect(),
        }
    }

    /// Whether several banks share this gateway (and each request's path names its bank).
    pub fn is_multi_bank(&self) -> bool {
        !matches!(self.banks.as_slice(), [(None, _)])
    }

    /// The first bank's app (a one-bank gateway's only one): settings every bank shares.
    pub fn app(&self) -> &App {
        &self.banks[0].1.app
    }

    /// Every bank's app.
    pub fn apps(&self) -> impl Iterator<Item = &App> {
        self.banks.iter().map(|(_, f)| &f.app)
    }

    /// The app of the bank an admin command names (`--bank`); without one, the only bank.
    pub fn app_for(&self, bank: Option<&crate::banks::BankCode>) -> Result<&App, String> {
        let codes = || {
            self.apps()
                .map(|a| a.config.bank.bank_code.clone())
                .collect::<Vec<_>>()
                .join(", ")
        };
        match bank {
            Some(code) => self
                .apps()
                .find(|a| a.config.bank.bank_code == code.as_str())
                .ok_or_else(|| format!("no bank {code} here (banks: {})", codes())),
            None if self.banks.len() == 1 => Ok(self.app()),
            None => Err(format!(
                "several banks here: say which with --bank CODE ({})",
                codes()
            )),
        }
    }

    /// What to do with a request, from its head alone: the answer, if it needs nothing waited
    /// for (the bank list, an unknown bank, a phone's top page), or the bank whose fronts answer
    /// it ([`Gateway::answer`]). The head's path is made the bank's own, and a HEAD is answered
    /// as the GET it asks about (hyper sends the head only).
    pub fn answer_now(&self, head: &mut Parts, body_empty: bool, peer: SocketAddr) -> Routed {
        if head.method == Method::HEAD {
            head.method = Method::GET;
        }
        let bank = match self.bank_of(head) {
            Ok(bank) => bank,
            Err(reply) => return Routed::Now(reply),
        };
        let (site, fronts) = &self.banks[bank];
        match fronts.answer_now(head, body_empty, peer) {
            Some(reply) => Routed::Now(rerooted(site, reply)),
            None => Routed::Bank(bank),
        }
    }

    /// The answer of `bank` (from [`Gateway::answer_now`]) to a request whose body has not been
    /// read.
    pub async fn answer(&self, bank: usize, req: HttpRequest, peer: SocketAddr) -> Reply {
        let (site, fronts) = &self.banks[bank];
        rerooted(site, fronts.answer(req, peer).await)
    }

    /// The whole answer to a request whose body has not been read: [`Gateway::answer_now`],
    /// then [`Gateway::answer`] if it must wait (the server takes the two steps itself, so as
    /// to answer at once without a future).
    pub async fn dispatch(&self, req: HttpRequest, peer: SocketAddr) -> Reply {
        use hyper::body::Body as _;
        let (mut head, body) = req.into_parts();
        match self.answer_now(&mut head, body.is_end_stream(), peer) {
            Routed::Now(reply) => reply,
            Routed::Bank(bank) => {
                self.answer(bank, HttpRequest::from_parts(head, body), peer)
                    .await
            }
        }
    }

    /// The bank a request is for (its path made the bank's own), or the gateway's own answer.
    fn bank_of(&self, head: &mut Parts) -> Result<usize, Reply> {
        if let [(None, _)] = self.banks.as_slice() {
            return Ok(0);
        }
        let path = head.uri.path();
        // Read in place: only a path with a bank's prefix is rewritten (one new URI).
        let by_prefix = self.banks.iter().enumerate().find_map(|(i, (site, _))| {
            let inner = site.as_ref()?.strip(path)?;
            Some((i, with_path(&head.uri, inner)))
        });
        if let Some((bank, uri)) = by_prefix {
            if let Some(uri) = uri {
                head.uri = uri;
            }
            return Ok(bank);
        }
        // A bank's own host name answers its paths without the prefix too.
        let host = head
            .headers
            .get(hyper::header::HOST)
            .and_then(|h| h.to_str().ok());
        let by_host = self
            .banks
            .iter()
            .position(|(site, _)| site.as_ref().is_some_and(|site| site.serves_host(host)));
        match by_host {
            Some(bank) => Ok(bank),
            None if path == "/" => {
                let list: Vec<(String, String)> = self
                    .banks
                    .iter()
                    .filter_map(|(site, f)| {
                        let site = site.as_ref()?;
                        Some((format!("{}/", site.base), f.app.config.bank.name.clone()))
                    })
                    .collect();
                Err(crate::banks::bank_list_page(&list))
            }
            None if path == crate::metrics::PATH => Err(crate::metrics::not_found_outside_banks()),
            None if path == "/api" || path.starts_with("/api/") => {
                // API callers read JSON; their path must name the bank.
                Err(crate::api::not_found_outside_banks())
            }
            None => Err(crate::banks::no_such_bank()),
        }
    }

    /// Drops every front's expired state.
    pub fn sweep(&self) {
        for (_, fronts) in &self.banks {
            fronts.sweep();
        }
    }
}

/// A bank's answer with its prefix put back (a one-bank gateway's as it is).
fn rerooted(site: &Option<Site>, reply: Reply) -> Reply {
    match site {
        Some(site) => site.reroot(reply),
        None => reply,
    }
}

/// `uri` with its path replaced (the query kept).
fn with_path(uri: &hyper::Uri, path: &str) -> Option<hyper::Uri> {
    let pq = match uri.query() {
        Some(q) => format!("{path}?{q}"),
        None => path.to_owned(),
    };
    hyper::Uri::builder().path_and_query(pq).build().ok()
}
