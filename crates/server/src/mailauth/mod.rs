//! Mail authentication: DKIM keys and signing for mail we send, SPF/DKIM/ARC/DMARC checks for
//! mail we receive.
//!
//! - `keys`: DKIM private keys as files in DATA/dkim (shared by the server and `yubin admin
//!   dkim`, which may run in another process) and the TXT records that publish them.
//! - `sign`: [`DkimSigner`], which signs with every key of a domain and notices new keys.
//! - `verify`: [`check_inbound`], all inbound checks in one call, ending in an
//!   Authentication-Results field and a DMARC verdict.
//!
//! The cryptography and the protocol checks are mail-auth's (on ring); RSA keys are generated
//! with the `rsa` crate, since ring cannot.

pub mod keys;
pub mod sign;
pub mod verify;

pub use keys::{DkimKey, KeyAlgorithm, KeyDir};
pub use sign::DkimSigner;
pub use verify::{
    AuthResult, DkimVerdict, DmarcOutcome, DmarcPolicy, InboundInput, InboundVerdict, SpfVerdict,
    check_inbound, check_inbound_cached,
};

#[cfg(test)]
mod tests;
