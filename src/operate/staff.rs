//! Branch staff accounts: `staff add`, `list`, `disable`, `enable`, `reset-password`,
//! `unlock`. A new or reset account gets an initial password (generated and printed once, or
//! given on standard input) that the first sign-in must replace ([`Staff::must_change`]).
//! Each change is one write with its audit record naming the operator.

use super::{OperateError, Operator, Result};
use crate::password;
use crate::store::{AuditEvent, Event, Role, Staff, Store};
use std::fmt;
use zeroize::Zeroizing;

/// Shortest password a staff member may choose (and an initial one may be).
pub const MIN_PASSWORD: usize = 10;
/// Characters of a generated initial password: no 0/O, 1/l/I to misread on paper.
const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
const GENERATED_LEN: usize = 14;

/// Staff IDs as sign-in reads them: 1 to 32 capital letters and digits.
pub fn valid_id(id: &str) -> bool {
    (1..=32).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// Why a password cannot be a staff password (console and command line).
pub fn password_problem(p: &str) -> Option<String> {
    if p.chars().count() < MIN_PASSWORD {
        return Some(format!("at least {MIN_PASSWORD} characters"));
    }
    if p.chars().any(char::is_control) {
        return Some("no control characters".into());
    }
    None
}

/// A random initial password.
fn generate() -> Result<Zeroizing<String>> {
    let mut bytes = Zeroizing::new([0u8; GENERATED_LEN]);
    getrandom::fill(bytes.as_mut())
        .map_err(|e| OperateError::Refused(format!("no random source: {e}")))?;
    // 256 % 57 leaves a bias of under one part in 57 per character: fine for a one-time value.
    let s: String = bytes
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect();
    Ok(Zeroizing::new(s))
}

/// The initial password: the one given (checked), or a generated one to print.
fn initial(given: Option<Zeroizing<String>>) -> Result<(Zeroizing<String>, bool)> {
    match given {
        Some(p) => match password_problem(&p) {
            Some(why) => Err(OperateError::Refused(format!("the password needs {why}"))),
            None => Ok((p, false)),
        },
        None => Ok((generate()?, true)),
    }
}

fn hash(p: &str) -> Result<String> {
    password::hash(p).map_err(|e| OperateError::Refused(e.to_string()))
}

/// What `staff add` is asked for.
pub struct AddArgs<'a> {
    pub staff_id: &'a str,
    pub name: &'a str,
    pub branch_code: &'a str,
    pub role: Role,
    /// From `--password-stdin`; `None` generates one.
    pub password: Option<Zeroizing<String>>,
    /// The bank profile's branch codes; the code must be one of them.
    pub branches: &'a [String],
    pub now: u64,
    pub operator: &'a Operator,
}

/// An account given an initial password; the generated one is printed once.
pub struct Initial {
    pub what: String,
    pub generated: Option<Zeroizing<String>>,
}

impl fmt::Display for Initial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.what)?;
        if let Some(p) = &self.generated {
            writeln!(
                f,
                "initial password (shown once; the first sign-in must change it): {}",
                p.as_str()
            )?;
        }
        Ok(())
    }
}

/// `staff add ID --name NAME --branch CODE --role clerk|supervisor`.
pub fn add(store: &Store, args: AddArgs) -> Result<Initial> {
    let mut why = Vec::new();
    if !valid_id(args.staff_id) {
        why.push("the staff ID must be 1 to 32 capital letters and digits".to_owned());
    }
    let name_len = args.name.trim().chars().count();
    if name_len == 0 || name_len > 64 || args.name.chars().any(char::is_control) {
        why.push("the name must be 1 to 64 characters".to_owned());
    }
    if !args.branches.iter().any(|b| b == args.branch_code) {
        why.push(format!(
            "branch {:?} is not in the bank profile (branches: {})",
            args.branch_code,
            args.branches.join(", ")
        ));
    }
    if !why.is_empty() {
        return Err(OperateError::Refused(why.join("; ")));
    }
    let (pw, generated) = initial(args.password)?;
    let record = Staff {
        staff_id: args.staff_id.to_owned(),
        name: args.name.trim().to_owned(),
        branch_code: args.branch_code.to_owned(),
        role: args.role,
        password_hash: hash(&pw)?,
        disabled: false,
        must_change: true,
        sign_in_fails: 0,
        last_attempt: 0,
    };
    let role = role_name(args.role);
    let added = store.commit_now(|tx| {
        if tx.staff(&record.staff_id)?.is_some() {
            return Ok(false);
        }
        tx.put_staff(&record)?;
        tx.audit_by(
            args.now,
            Event {
                detail: format!("{} added as {role}, {}", record.name, args.operator.tag()),
                ..Event::new(AuditEvent::StaffAdd)
            },
            &record.staff_id,
            &record.branch_code,
        )?;
        Ok(true)
    })?;
    if !added {
        return Err(OperateError::Refused(format!(
            "staff ID {} exists already (staff reset-password to give it a new password)",
            record.staff_id
        )));
    }
    Ok(Initial {
        what: format!(
            "added {} {} (branch {}, {role})",
            record.staff_id, record.name, record.branch_code
        ),
        generated: generated.then_some(pw),
    })
}

fn role_name(r: Role) -> &'static str {
    match r {
        Role::Clerk => "clerk",
        Role::Supervisor => "supervisor",
    }
}

/// `staff list`: one line per staff member, tab-separated.
pub struct StaffList(pub Vec<Staff>);

impl fmt::Display for StaffList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for s in &self.0 {
            let mut state = vec![if s.disabled { "disabled" } else { "enabled" }];
            if s.must_change {
                state.push("initial password");
            }
            if s.sign_in_fails >= crate::branch::auth::SIGN_IN_LIMIT {
                state.push("sign-in paused");
            }
            writeln!(
                f,
                "{}\t{}\t{}\t{}\t{}",
                s.staff_id,
                s.name,
                s.branch_code,
                role_name(s.role),
                state.join(", ")
            )?;
        }
        Ok(())
    }
}

pub fn list(store: &Store) -> Result<StaffList> {
    let all = store
        .every_staff()
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(StaffList(all))
}

/// A change to one account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Disable,
    Enable,
    Unlock,
}

/// `staff disable|enable|unlock ID`: the account changed, audited; a message naming it.
pub fn change(
    store: &Store,
    staff_id: &str,
    change: Change,
    now: u64,
    operator: &Operator,
) -> Result<String> {
    let event = match change {
        Change::Disable => AuditEvent::StaffDisable,
        Change::Enable => AuditEvent::StaffEnable,
        Change::Unlock => AuditEvent::StaffUnlock,
    };
    let done = store.commit_now(|tx| {
        let Some(mut s) = tx.staff(staff_id)? else {
            return Ok(None);
        };
        match change {
            Change::Disable => s.disabled = true,
            Change::Enable => s.disabled = false,
            Change::Unlock => {
                s.sign_in_fails = 0;
                s.last_attempt = 0;
            }
        }
        tx.put_staff(&s)?;
        tx.audit_by(
            now,
            Event {
                detail: operator.tag(),
                ..Event::new(event)
            },
            &s.staff_id,
            &s.branch_code,
        )?;
        Ok(Some(s))
    })?;
    let s = done.ok_or_else(|| OperateError::Refused(format!("no staff ID {staff_id}")))?;
    Ok(match change {
        Change::Disable => format!("disabled {} (sign-in refused, sessions end)", s.staff_id),
        Change::Enable => format!("enabled {}", s.staff_id),
        Change::Unlock => format!("unlocked {} (sign-in pause lifted)", s.staff_id),
    })
}

/// `staff reset-password ID`: a new initial password, to be changed at the next sign-in; the
/// member's sessions end and the sign-in pause is lifted with it.
pub fn reset_password(
    store: &Store,
    staff_id: &str,
    given: Option<Zeroizing<String>>,
    now: u64,
    operator: &Operator,
) -> Result<Initial> {
    if store.staff(staff_id)?.is_none() {
        return Err(OperateError::Refused(format!("no staff ID {staff_id}")));
    }
    let (pw, generated) = initial(given)?;
    let new_hash = hash(&pw)?;
    // The member's signed-in sessions end with the old password (staff sessions are few).
    let mut sessions = Vec::new();
    for r in store.staff_sessions() {
        let r = r?;
        if r.staff_id == staff_id {
            sessions.push(r.key);
        }
    }
    let found = store.commit_now(|tx| {
        let Some(mut s) = tx.staff(staff_id)? else {
            return Ok(false);
        };
        for k in &sessions {
            tx.remove_staff_session(k)?;
        }
        s.password_hash = new_hash.clone();
        s.must_change = true;
        s.sign_in_fails = 0;
        s.last_attempt = 0;
        tx.put_staff(&s)?;
        tx.audit_by(
            now,
            Event {
                detail: operator.tag(),
                ..Event::new(AuditEvent::StaffPasswordReset)
            },
            &s.staff_id,
            &s.branch_code,
        )?;
        Ok(true)
    })?;
    if !found {
        return Err(OperateError::Refused(format!("no staff ID {staff_id}")));
    }
    Ok(Initial {
        what: format!("reset the password of {staff_id} (its sessions ended)"),
        generated: generated.then_some(pw),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_passwords() {
        assert!(valid_id("S0099") && !valid_id("s0099") && !valid_id("") && !valid_id("A B"));
        assert!(password_problem("short").is_some());
        assert!(password_problem("long enough pw").is_none());
        let g = generate().unwrap();
        assert_eq!(g.len(), GENERATED_LEN);
        assert!(password_problem(&g).is_none());
        assert_ne!(*g, *generate().unwrap());
    }
}
