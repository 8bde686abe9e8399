//! Figures as they are collected, and the one table printed at the end (also written as
//! markdown to target/bench-report.md).

use std::time::Duration;

#[derive(Default)]
pub struct Latencies(Vec<Duration>);

impl Latencies {
    pub fn extend(&mut self, more: impl IntoIterator<Item = Duration>) {
        self.0.extend(more);
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The `q` quantile in milliseconds (0 when empty).
    pub fn quantile(&mut self, q: f64) -> f64 {
        if self.0.is_empty() {
            return 0.0;
        }
        self.0.sort_unstable();
        let i = ((self.0.len() as f64 * q).ceil() as usize).clamp(1, self.0.len()) - 1;
        self.0[i].as_secs_f64() * 1000.0
    }

    /// "p50 / p99" in milliseconds.
    pub fn p50_p99(&mut self) -> String {
        if self.0.is_empty() {
            return "-".into();
        }
        self.0.sort_unstable();
        let at = |q: f64| {
            let i = ((self.0.len() as f64 * q).ceil() as usize).clamp(1, self.0.len()) - 1;
            self.0[i].as_secs_f64() * 1000.0
        };
        format!("p50 {:.1} ms / p99 {:.1} ms", at(0.50), at(0.99))
    }
}

pub struct Row {
    pub section: &'static str,
    pub what: String,
    pub value: String,
    pub target: String,
    /// None: no target; Some(met).
    pub met: Option<bool>,
}

#[derive(Default)]
pub struct Table {
    pub rows: Vec<Row>,
    pub notes: Vec<String>,
}

impl Table {
    pub fn add(
        &mut self,
        section: &'static str,
        what: impl Into<String>,
        value: impl Into<String>,
    ) {
        self.rows.push(Row {
            section,
            what: what.into(),
            value: value.into(),
            target: String::new(),
            met: None,
        });
    }

    pub fn check(
        &mut self,
        section: &'static str,
        what: impl Into<String>,
        value: impl Into<String>,
        target: impl Into<String>,
        met: bool,
    ) {
        self.rows.push(Row {
            section,
            what: what.into(),
            value: value.into(),
            target: target.into(),
            met: Some(met),
        });
    }

    pub fn note(&mut self, note: impl Into<String>) {
        let note = note.into();
        eprintln!("note: {note}");
        self.notes.push(note);
    }

    /// Rows grouped by section, sections in the order they first appeared.
    fn grouped(&self) -> Vec<&Row> {
        let mut order: Vec<&str> = Vec::new();
        for r in &self.rows {
            if !order.contains(&r.section) {
                order.push(r.section);
            }
        }
        let mut rows: Vec<&Row> = self.rows.iter().collect();
        rows.sort_by_key(|r| order.iter().position(|s| *s == r.section));
        rows
    }

    pub fn markdown(&self, header: &str) -> String {
        let mut out = format!(
            "{header}\n\n| section | measure | value | target | |\n|---|---|---|---|---|\n"
        );
        let mut last = "";
        for r in self.grouped() {
            let section = if r.section == last { "" } else { r.section };
            last = r.section;
            let mark = match r.met {
                Some(true) => "met",
                Some(false) => "MISSED",
                None => "",
            };
            out.push_str(&format!(
                "| {section} | {} | {} | {} | {mark} |\n",
                r.what, r.value, r.target
            ));
        }
        if !self.notes.is_empty() {
            out.push('\n');
            for n in &self.notes {
                out.push_str(&format!("- {n}\n"));
            }
        }
        out
    }

    /// The table for a terminal: aligned columns.
    pub fn text(&self, header: &str) -> String {
        let w = |f: &dyn Fn(&Row) -> usize| self.rows.iter().map(f).max().unwrap_or(0);
        let width = |s: &str| {
            s.chars()
                .map(|c| if c.is_ascii() { 1 } else { 2 })
                .sum::<usize>()
        };
        let ws = w(&|r| width(r.section));
        let ww = w(&|r| width(&r.what));
        let wv = w(&|r| width(&r.value));
        let wt = w(&|r| width(&r.target));
        let pad = |s: &str, n: usize| format!("{s}{}", " ".repeat(n.saturating_sub(width(s))));
        let mut out = format!("{header}\n\n");
        let mut last = "";
        for r in self.grouped() {
            let section = if r.section == last { "" } else { r.section };
            last = r.section;
            let mark = match r.met {
                Some(true) => "met",
                Some(false) => "MISSED",
                None => "",
            };
            out.push_str(&format!(
                "{}  {}  {}  {}  {mark}\n",
                pad(section, ws),
                pad(&r.what, ww),
                pad(&r.value, wv),
                pad(&r.target, wt)
            ));
        }
        for n in &self.notes {
            out.push_str(&format!("\nnote: {n}"));
        }
        out.push('\n');
        out
    }
}

pub fn bytes(n: u64) -> String {
    format!("{n} B")
}

pub fn mb(n: u64) -> String {
    format!("{:.1} MB", n as f64 / 1_048_576.0)
}

/// Seconds a transfer of `n` bytes takes at `bps` bits per second.
pub fn air_time(n: u64, bps: f64) -> String {
    format!("{:.1} s", n as f64 * 8.0 / bps)
}
