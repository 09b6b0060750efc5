//! Sending limits: messages and recipients per hour, per account and per domain.
//!
//! Each limit is a GCRA budget of `n` per hour (`crate::limits::rates`): a burst of up to `n`,
//! refilled evenly over the hour, so a sender who hits the limit can send again a little later
//! instead of at the top of the next hour. `n` is the account's or its domain's override
//! (`yubin admin account|domain limits --messages-per-hour`), else `[sending]`. Counts live in
//! memory: a restart forgives, which errs towards letting mail through.

use std::time::Duration;

use crate::limits::rates::RateTable;

/// Which limit refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exceeded {
    Account,
    Domain,
}

/// The hourly budgets one message or recipient is taken from.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Hourly {
    pub account: u32,
    pub domain: u32,
}

/// The four tables of the sending limits.
pub(crate) struct SendLimits {
    account_messages: RateTable<u64>,
    account_recipients: RateTable<u64>,
    domain_messages: RateTable<String>,
    domain_recipients: RateTable<String>,
}

impl SendLimits {
    pub(crate) fn new() -> Self {
        let hour = Duration::from_secs(3600);
        Self {
            account_messages: RateTable::new(hour),
            account_recipients: RateTable::new(hour),
            domain_messages: RateTable::new(hour),
            domain_recipients: RateTable::new(hour),
        }
    }

    /// Takes one message from the account's and its domain's budgets.
    pub(crate) fn message(&self, account: u64, domain: &str, n: Hourly) -> Result<(), Exceeded> {
        if !self.account_messages.take(&account, n.account) {
            return Err(Exceeded::Account);
        }
        if !self.domain_messages.take(&domain.to_string(), n.domain) {
            return Err(Exceeded::Domain);
        }
        Ok(())
    }

    /// Takes one recipient from the account's and its domain's budgets.
    pub(crate) fn recipient(&self, account: u64, domain: &str, n: Hourly) -> Result<(), Exceeded> {
        if !self.account_recipients.take(&account, n.account) {
            return Err(Exceeded::Account);
        }
        if !self.domain_recipients.take(&domain.to_string(), n.domain) {
            return Err(Exceeded::Domain);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_account_and_domain_has_its_own_budget() {
        let limits = SendLimits::new();
        let messages = Hourly {
            account: 2,
            domain: 3,
        };
        assert_eq!(limits.message(1, "a.test", messages), Ok(()));
        assert_eq!(limits.message(1, "a.test", messages), Ok(()));
        assert_eq!(
            limits.message(1, "a.test", messages),
            Err(Exceeded::Account)
        );
        // another account of the same domain: its own budget, until the domain's runs out
        assert_eq!(limits.message(2, "a.test", messages), Ok(()));
        assert_eq!(limits.message(3, "a.test", messages), Err(Exceeded::Domain));
        assert_eq!(limits.message(4, "b.test", messages), Ok(()));
        let recipients = Hourly {
            account: 3,
            domain: 100,
        };
        for _ in 0..3 {
            assert_eq!(limits.recipient(5, "c.test", recipients), Ok(()));
        }
        assert_eq!(
            limits.recipient(5, "c.test", recipients),
            Err(Exceeded::Account)
        );
        // an override raised later applies at once
        let raised = Hourly {
            account: 10,
            domain: 100,
        };
        assert_eq!(limits.recipient(5, "c.test", raised), Ok(()));
    }
}
