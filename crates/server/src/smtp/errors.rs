//! The one place where store errors become SMTP replies.

use yubin_proto::smtp::reply::Reply;
use yubin_store::{Error, ErrorKind};

/// The reply for a failed delivery or lookup.
pub fn reply_for(error: &Error) -> Reply {
    match error.kind() {
        ErrorKind::OverQuota => Reply::new(552, "5.2.2", "Mailbox full"),
        ErrorKind::NotFound => Reply::new(550, "5.1.1", "Mailbox unavailable"),
        ErrorKind::TooBig => Reply::new(552, "5.3.4", "Message too big"),
        ErrorKind::Unavailable => {
            Reply::new(451, "4.3.0", "Temporary storage failure, try again later")
        }
        _ => {
            tracing::error!(error = %error, "delivery failed");
            Reply::new(451, "4.3.0", "Local error in processing, try again later")
        }
    }
}
