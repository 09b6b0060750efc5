//! Inbound authentication of mail arriving from other servers: SPF (RFC 7208) for the HELO and
//! MAIL FROM identities, every DKIM signature (RFC 6376, RFC 8463), the ARC chain (RFC 8617) and
//! DMARC (RFC 7489) for the From: domain, reported in one Authentication-Results field
//! (RFC 8601).
//!
//! mail-auth does the checking; this module picks the identities, runs the checks in the order
//! DMARC needs (SPF and DKIM first) and reduces the results to what the SMTP session decides
//! on. Nothing here fails: a DNS failure is a `temperror` result, a message that cannot be
//! parsed has no signatures (`none`), and the session decides what to do with either.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use mail_auth::common::cache::NoCache;
use mail_auth::dmarc::Policy;
use mail_auth::dmarc::verify::DmarcParameters;
use mail_auth::spf::verify::SpfParameters;
use mail_auth::{
    ArcOutput, AuthenticatedMessage, AuthenticationResults, DkimOutput, DkimResult, DmarcOutput,
    DmarcResult, MX, MessageAuthenticator, Parameters, RecordSet, ResolverCache, SpfOutput,
    SpfResult, Txt,
};

/// What the SMTP session knows about an inbound message.
#[derive(Debug, Clone, Copy)]
pub struct InboundInput<'a> {
    /// The connecting client's address.
    pub peer_ip: IpAddr,
    /// The EHLO/HELO argument as sent.
    pub helo: &'a str,
    /// The MAIL FROM address without angle brackets; empty for the null reverse-path.
    pub mail_from: &'a str,
    /// This server's host name: SPF's receiving host and the authserv-id of the header.
    pub hostname: &'a str,
    /// The message as received (headers and body, CRLF line ends).
    pub message: &'a [u8],
}

/// One check's result, by the RFC 8601 §2.7 keywords.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthResult {
    /// The identity is authenticated.
    Pass,
    /// The check failed.
    Fail,
    /// SPF: the domain says the host is probably not authorized.
    SoftFail,
    /// SPF: no assertion; DKIM: a signature that could not be processed.
    Neutral,
    /// Nothing to check (no record, no signature).
    None,
    /// A temporary failure, usually DNS: the same check may pass later.
    TempError,
    /// A permanent error in the published record or the signature.
    PermError,
}

impl fmt::Display for AuthResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Pass => "pass",
            Self::Fail => "fail",
            Self::SoftFail => "softfail",
            Self::Neutral => "neutral",
            Self::None => "none",
            Self::TempError => "temperror",
            Self::PermError => "permerror",
        })
    }
}

/// The SPF results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpfVerdict {
    /// The HELO identity (RFC 7208 §2.3).
    pub helo: AuthResult,
    /// The MAIL FROM identity (RFC 7208 §2.4; for the null reverse-path, postmaster@HELO).
    pub mail_from: AuthResult,
    /// The domain the MAIL FROM check was for.
    pub domain: String,
}

/// One DKIM signature's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DkimVerdict {
    /// The result.
    pub result: AuthResult,
    /// `d=`; empty for a signature too broken to read.
    pub domain: String,
    /// `s=`; empty for a signature too broken to read.
    pub selector: String,
}

/// The policy a failing message's From: domain asks for (RFC 7489 §6.3 `p`, `sp`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DmarcPolicy {
    /// Deliver as usual.
    None,
    /// Treat as suspicious (spam folder).
    Quarantine,
    /// Refuse during the SMTP transaction.
    Reject,
}

/// The DMARC result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DmarcOutcome {
    /// `Pass`, `Fail`, `None` (no policy, or no single From: domain), `TempError` or
    /// `PermError`.
    pub result: AuthResult,
    /// The policy that applies to this message when it fails (`None` without a record).
    pub policy: DmarcPolicy,
    /// The RFC 5322 From: domain; empty when there is none.
    pub from_domain: String,
}

/// Everything the checks found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundVerdict {
    /// A complete `Authentication-Results:` header field ending in CRLF, to prepend.
    pub header: String,
    /// SPF.
    pub spf: SpfVerdict,
    /// Each DKIM signature, in header order; empty when the message is unsigned.
    pub dkim: Vec<DkimVerdict>,
    /// The ARC chain (`None` without ARC sets).
    pub arc: AuthResult,
    /// DMARC.
    pub dmarc: DmarcOutcome,
}

impl InboundVerdict {
    /// Whether the message fails DMARC and its domain asks for rejection (RFC 7489 §6.6.2: a
    /// receiver that rejects does it in the SMTP transaction, with 550 5.7.1).
    pub fn should_reject(&self) -> bool {
        self.dmarc.result == AuthResult::Fail && self.dmarc.policy == DmarcPolicy::Reject
    }

    /// Whether the message fails DMARC and its domain asks for quarantine.
    pub fn should_quarantine(&self) -> bool {
        self.dmarc.result == AuthResult::Fail && self.dmarc.policy == DmarcPolicy::Quarantine
    }
}

/// Runs SPF, DKIM, ARC and DMARC for one inbound message over `auth`'s resolver.
pub async fn check_inbound(auth: &MessageAuthenticator, input: InboundInput<'_>) -> InboundVerdict {
    check_inbound_cached(auth, input, None::<&NoCache<Box<str>, Txt>>).await
}

/// [`check_inbound`] with mail-auth's TXT record cache, which it consults before DNS and fills
/// from it.
pub async fn check_inbound_cached<TXT>(
    auth: &MessageAuthenticator,
    input: InboundInput<'_>,
    txt: Option<&TXT>,
) -> InboundVerdict
where
    TXT: ResolverCache<Box<str>, Txt>,
{
    let InboundInput {
        peer_ip,
        helo,
        mail_from,
        hostname,
        message,
    } = input;

    let spf_helo = auth
        .verify_spf(with_txt_cache(
            SpfParameters::verify_ehlo(peer_ip, helo, hostname),
            txt,
        ))
        .await;
    // RFC 7208 §2.4: for the null reverse-path the MAIL FROM identity is postmaster@HELO, which
    // is the check just made.
    let spf_mail_from = if mail_from.is_empty() {
        spf_helo.clone()
    } else {
        auth.verify_spf(with_txt_cache(
            SpfParameters::verify_mail_from(peer_ip, helo, hostname, mail_from),
            txt,
        ))
        .await
    };
    let mail_from_domain = mail_from.rsplit_once('@').map_or(helo, |(_, d)| d);

    let spf = [&spf_helo, &spf_mail_from];
    let Some(parsed) = AuthenticatedMessage::parse(message) else {
        return verdict(
            &input,
            spf,
            &[],
            "",
            &ArcOutput::default(),
            &DmarcOutput::default(),
        );
    };
    let dkim = auth.verify_dkim(with_txt_cache(&parsed, txt)).await;
    let arc = auth.verify_arc(with_txt_cache(&parsed, txt)).await;
    let dmarc = auth
        .verify_dmarc(with_txt_cache(
            DmarcParameters::new(&parsed, &dkim, mail_from_domain, &spf_mail_from),
            txt,
        ))
        .await;
    let from_domain = parsed
        .from
        .first()
        .and_then(|f| f.rsplit_once('@'))
        .map_or("", |(_, d)| d);
    verdict(&input, spf, &dkim, from_domain, &arc, &dmarc)
}

/// The results in Yubin's terms, with the header field that reports them.
fn verdict(
    input: &InboundInput<'_>,
    [spf_helo, spf_mail_from]: [&SpfOutput; 2],
    dkim: &[DkimOutput<'_>],
    from_domain: &str,
    arc: &ArcOutput<'_>,
    dmarc: &DmarcOutput,
) -> InboundVerdict {
    InboundVerdict {
        header: header(
            input,
            [spf_helo, spf_mail_from],
            dkim,
            from_domain,
            arc,
            dmarc,
        ),
        spf: SpfVerdict {
            helo: spf_result(spf_helo.result()),
            mail_from: spf_result(spf_mail_from.result()),
            domain: spf_mail_from.domain().to_string(),
        },
        dkim: dkim
            .iter()
            .map(|o| DkimVerdict {
                result: dkim_result(o.result()),
                domain: o.signature().map_or(String::new(), |s| s.d.clone()),
                selector: o.signature().map_or(String::new(), |s| s.s.clone()),
            })
            .collect(),
        arc: dkim_result(arc.result()),
        dmarc: DmarcOutcome {
            result: dmarc_result(&dmarc.result()),
            policy: match dmarc.policy() {
                Policy::Reject => DmarcPolicy::Reject,
                Policy::Quarantine => DmarcPolicy::Quarantine,
                Policy::None | Policy::Unspecified => DmarcPolicy::None,
            },
            from_domain: dmarc.domain().to_string(),
        },
    }
}

/// The Authentication-Results field: mail-auth writes each method's result; the parts it has
/// no writer for (a message without signatures, one without a From: domain) are added as
/// `dkim=none` and `dmarc=none` (RFC 8601 §2.7.1, §2.7.2).
fn header(
    input: &InboundInput<'_>,
    [spf_helo, spf_mail_from]: [&SpfOutput; 2],
    dkim: &[DkimOutput<'_>],
    from_domain: &str,
    arc: &ArcOutput<'_>,
    dmarc: &DmarcOutput,
) -> String {
    let InboundInput {
        peer_ip,
        helo,
        mail_from,
        hostname,
        ..
    } = *input;
    // AuthenticationResults displays as the authserv-id followed by ";\r\n\tmethod=..." parts.
    let part = |results: AuthenticationResults<'_>| {
        let text = results.to_string();
        text.strip_prefix(hostname)
            .map(str::to_string)
            .unwrap_or(text)
    };
    let mut field = String::from("Authentication-Results: ");
    field.push_str(
        &AuthenticationResults::new(hostname)
            .with_spf_ehlo_result(spf_helo, peer_ip, helo)
            .with_spf_mailfrom_result(spf_mail_from, peer_ip, mail_from, helo)
            .to_string(),
    );
    if dkim.is_empty() {
        field.push_str(";\r\n\tdkim=none");
    } else {
        field.push_str(&part(
            AuthenticationResults::new(hostname).with_dkim_results(dkim, from_domain),
        ));
    }
    field.push_str(&part(
        AuthenticationResults::new(hostname).with_arc_result(arc, peer_ip),
    ));
    if dmarc.domain().is_empty() {
        field.push_str(";\r\n\tdmarc=none");
    } else {
        field.push_str(&part(
            AuthenticationResults::new(hostname).with_dmarc_result(dmarc),
        ));
    }
    field.push_str("\r\n");
    field
}

/// Parameters with the TXT cache (the only records mail-auth caches for these checks that
/// matter: SPF, DKIM keys, DMARC policies).
#[allow(clippy::type_complexity)]
fn with_txt_cache<'x, P, TXT>(
    params: P,
    txt: Option<&'x TXT>,
) -> Parameters<
    'x,
    P,
    TXT,
    NoCache<Box<str>, RecordSet<MX>>,
    NoCache<Box<str>, RecordSet<Ipv4Addr>>,
    NoCache<Box<str>, RecordSet<Ipv6Addr>>,
    NoCache<IpAddr, RecordSet<Box<str>>>,
>
where
    TXT: ResolverCache<Box<str>, Txt>,
{
    Parameters {
        params,
        cache_txt: txt,
        cache_mx: None,
        cache_ptr: None,
        cache_ipv4: None,
        cache_ipv6: None,
    }
}

fn spf_result(result: SpfResult) -> AuthResult {
    match result {
        SpfResult::Pass => AuthResult::Pass,
        SpfResult::Fail => AuthResult::Fail,
        SpfResult::SoftFail => AuthResult::SoftFail,
        SpfResult::Neutral => AuthResult::Neutral,
        SpfResult::TempError => AuthResult::TempError,
        SpfResult::PermError => AuthResult::PermError,
        SpfResult::None => AuthResult::None,
    }
}

fn dkim_result(result: &DkimResult) -> AuthResult {
    match result {
        DkimResult::Pass => AuthResult::Pass,
        DkimResult::Neutral(_) => AuthResult::Neutral,
        DkimResult::Fail(_) => AuthResult::Fail,
        DkimResult::PermError(_) => AuthResult::PermError,
        DkimResult::TempError(_) => AuthResult::TempError,
        DkimResult::None => AuthResult::None,
    }
}

fn dmarc_result(result: &DmarcResult) -> AuthResult {
    match result {
        DmarcResult::Pass => AuthResult::Pass,
        DmarcResult::Fail(_) => AuthResult::Fail,
        DmarcResult::TempError(_) => AuthResult::TempError,
        DmarcResult::PermError(_) => AuthResult::PermError,
        DmarcResult::None => AuthResult::None,
    }
}
