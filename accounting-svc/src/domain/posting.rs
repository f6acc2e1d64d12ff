//! Postings: one money effect, as balanced legs.

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

/// Why money moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An assignment charged the assignee the task's fee.
    AssignmentFee,
    /// A completion credited the assignee the task's reward.
    CompletionReward,
    /// A closed day's positive balance was paid out.
    Payout,
}

impl Kind {
    /// The stored name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Kind::AssignmentFee => "assignment_fee",
            Kind::CompletionReward => "completion_reward",
            Kind::Payout => "payout",
        }
    }

    /// From the stored name.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "assignment_fee" => Some(Kind::AssignmentFee),
            "completion_reward" => Some(Kind::CompletionReward),
            "payout" => Some(Kind::Payout),
            _ => None,
        }
    }
}

/// Where a leg is booked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Book {
    /// An employee's account.
    Employee(Uuid),
    /// The company's income from fees.
    CompanyFeeIncome,
    /// The company's expense on rewards.
    CompanyRewardExpense,
    /// Money the company paid out.
    CompanyPayouts,
}

impl Book {
    /// The stored book name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Book::Employee(_) => "employee",
            Book::CompanyFeeIncome => "company_fee_income",
            Book::CompanyRewardExpense => "company_reward_expense",
            Book::CompanyPayouts => "company_payouts",
        }
    }

    /// The employee account, for employee legs.
    pub const fn account(self) -> Option<Uuid> {
        match self {
            Book::Employee(account) => Some(account),
            _ => None,
        }
    }
}

/// One side of a posting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Leg {
    /// Where it is booked.
    pub book: Book,
    /// Signed amount: negative debits the book, positive credits it.
    pub amount_cents: i64,
}

/// A money effect: its business key, kind, dates, task and legs that sum to zero. Built only by
/// the constructors below, which keep the legs balanced and the employee's leg first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posting {
    business_key: String,
    kind: Kind,
    task_id: Option<Uuid>,
    occurred_at: DateTime<Utc>,
    business_date: NaiveDate,
    legs: [Leg; 2],
}

impl Posting {
    /// The fee of one assignment: the assignee pays, the company earns.
    pub fn assignment_fee(
        assignment_id: Uuid,
        assignee: Uuid,
        task_id: Uuid,
        fee_cents: i64,
        occurred_at: DateTime<Utc>,
        business_date: NaiveDate,
    ) -> Self {
        Self::balanced(
            format!("fee:{assignment_id}"),
            Kind::AssignmentFee,
            Some(task_id),
            occurred_at,
            business_date,
            Leg {
                book: Book::Employee(assignee),
                amount_cents: -fee_cents,
            },
            Leg {
                book: Book::CompanyFeeIncome,
                amount_cents: fee_cents,
            },
        )
    }

    /// The reward of a task: the assignee earns, the company pays.
    pub fn completion_reward(
        assignee: Uuid,
        task_id: Uuid,
        reward_cents: i64,
        occurred_at: DateTime<Utc>,
        business_date: NaiveDate,
    ) -> Self {
        Self::balanced(
            format!("reward:{task_id}"),
            Kind::CompletionReward,
            Some(task_id),
            occurred_at,
            business_date,
            Leg {
                book: Book::Employee(assignee),
                amount_cents: reward_cents,
            },
            Leg {
                book: Book::CompanyRewardExpense,
                amount_cents: -reward_cents,
            },
        )
    }

    /// The payout of an account for a closed day: the balance leaves as money paid.
    pub fn payout(
        account: Uuid,
        amount_cents: i64,
        occurred_at: DateTime<Utc>,
        business_date: NaiveDate,
    ) -> Self {
        Self::balanced(
            format!("payout:{account}:{business_date}"),
            Kind::Payout,
            None,
            occurred_at,
            business_date,
            Leg {
                book: Book::Employee(account),
                amount_cents: -amount_cents,
            },
            Leg {
                book: Book::CompanyPayouts,
                amount_cents,
            },
        )
    }

    fn balanced(
        business_key: String,
        kind: Kind,
        task_id: Option<Uuid>,
        occurred_at: DateTime<Utc>,
        business_date: NaiveDate,
        employee: Leg,
        company: Leg,
    ) -> Self {
        assert_eq!(
            employee.amount_cents + company.amount_cents,
            0,
            "a posting's legs sum to zero"
        );
        Self {
            business_key,
            kind,
            task_id,
            occurred_at,
            business_date,
            legs: [employee, company],
        }
    }

    /// Unique per money effect: a second posting with this key is the same fact again.
    pub fn business_key(&self) -> &str {
        &self.business_key
    }

    /// Why money moved.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The task it is for (none for payouts).
    pub fn task_id(&self) -> Option<Uuid> {
        self.task_id
    }

    /// When the fact happened.
    pub fn occurred_at(&self) -> DateTime<Utc> {
        self.occurred_at
    }

    /// The business date it belongs to.
    pub fn business_date(&self) -> NaiveDate {
        self.business_date
    }

    /// The legs; they sum to zero.
    pub fn legs(&self) -> &[Leg; 2] {
        &self.legs
    }

    /// The employee leg.
    pub fn employee_leg(&self) -> Leg {
        self.legs[0]
    }

    /// The employee whose account the posting moves.
    pub fn account(&self) -> Uuid {
        match self.legs[0].book {
            Book::Employee(account) => account,
            // The constructors put the employee's leg first.
            other => unreachable!("a posting's first leg is an employee's, not {other:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 25).unwrap()
    }

    #[test]
    fn every_posting_balances_and_has_its_business_key() {
        let (assignment, popug, task) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let fee = Posting::assignment_fee(assignment, popug, task, 1_500, Utc::now(), date());
        assert_eq!(fee.business_key(), format!("fee:{assignment}"));
        assert_eq!(fee.account(), popug);
        assert_eq!(
            fee.employee_leg(),
            Leg {
                book: Book::Employee(popug),
                amount_cents: -1_500
            }
        );
        let reward = Posting::completion_reward(popug, task, 3_000, Utc::now(), date());
        assert_eq!(reward.business_key(), format!("reward:{task}"));
        assert_eq!(reward.employee_leg().amount_cents, 3_000);
        let payout = Posting::payout(popug, 1_500, Utc::now(), date());
        assert_eq!(payout.business_key(), format!("payout:{popug}:2026-11-25"));
        assert_eq!(payout.task_id(), None);
        for posting in [fee, reward, payout] {
            assert_eq!(
                posting
                    .legs()
                    .iter()
                    .map(|leg| leg.amount_cents)
                    .sum::<i64>(),
                0
            );
        }
    }
}
