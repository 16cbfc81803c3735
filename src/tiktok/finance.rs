//! Finance operations (finance reference): statements, the transactions behind them, an
//! order's transactions and payments, signed like every other call. Payloads are parsed at
//! the boundary: money is decimal, and each breakdown stays a map of names to amounts so a
//! fee TikTok adds tomorrow still arrives (and gets booked) instead of being dropped.

use super::client::{TikTokClient, TikTokError};
pub use super::finance_models::*;
use http::Method;

pub const GET_STATEMENTS_PATH: &str = "/finance/202309/statements";
/// The 202309 versions were retired on 2025-07-01.
pub const STATEMENT_TRANSACTIONS_VERSION: &str = "202501";
pub const GET_PAYMENTS_PATH: &str = "/finance/202605/payments";
/// Get Statements takes at most 100 a page.
pub const MAX_STATEMENT_PAGE: u32 = 100;

/// Get Transactions by Statement, for one statement id.
pub fn statement_transactions_path(statement_id: &str) -> String {
    format!("/finance/{STATEMENT_TRANSACTIONS_VERSION}/statements/{statement_id}/statement_transactions")
}

/// Get Transactions by Order, for one order id.
pub fn order_transactions_path(order_id: &str) -> String {
    format!("/finance/{STATEMENT_TRANSACTIONS_VERSION}/orders/{order_id}/statement_transactions")
}

fn p(k: &str, v: impl ToString) -> (String, String) {
    (k.to_string(), v.to_string())
}

fn opt(v: Option<impl ToString>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

/// A next-page token worth following: present and not empty.
fn next(token: Option<String>) -> Option<String> {
    token.filter(|t| !t.is_empty())
}

impl TikTokClient {
    /// One page of Get Statements, oldest `statement_time` first.
    pub async fn get_statements(&self, q: &StatementQuery) -> Result<StatementPage, TikTokError> {
        let size = q.page_size.clamp(1, MAX_STATEMENT_PAGE);
        let params = [
            p("sort_field", "statement_time"),
            p("sort_order", "ASC"),
            p("page_size", size),
            p("page_token", q.page_token.clone().unwrap_or_default()),
            p("statement_time_ge", opt(q.statement_time_ge)),
            p("statement_time_lt", opt(q.statement_time_lt)),
            p(
                "payment_status",
                q.payment_status.clone().unwrap_or_default(),
            ),
        ];
        let mut page: StatementPage = self
            .call_api(Method::GET, GET_STATEMENTS_PATH, &params, None)
            .await?;
        page.next_page_token = next(page.next_page_token);
        Ok(page)
    }

    /// One page of Get Transactions by Statement, by `order_create_time`.
    pub async fn get_statement_transactions_page(
        &self,
        statement_id: &str,
        page_size: u32,
        page_token: Option<&str>,
    ) -> Result<StatementTransactionPage, TikTokError> {
        let params = [
            p("sort_field", "order_create_time"),
            p("sort_order", "ASC"),
            p("page_size", page_size.clamp(1, 100)),
            p("page_token", page_token.unwrap_or_default()),
        ];
        let path = statement_transactions_path(statement_id);
        let mut page: StatementTransactionPage =
            self.call_api(Method::GET, &path, &params, None).await?;
        page.next_page_token = next(page.next_page_token);
        Ok(page)
    }

    /// Every transaction of a statement, following page tokens to the end. A token that
    /// comes back twice ends the walk rather than looping.
    pub async fn get_statement_transactions(
        &self,
        statement_id: &str,
        page_size: u32,
    ) -> Result<StatementTransactionPage, TikTokError> {
        let mut all = StatementTransactionPage::default();
        let mut token: Option<String> = None;
        let mut seen = std::collections::HashSet::new();
        loop {
            let page = self
                .get_statement_transactions_page(statement_id, page_size, token.as_deref())
                .await?;
            if all.currency.is_empty() {
                all.currency = page.currency.clone();
                all.total_settlement_amount = page.total_settlement_amount;
                all.total_reserve_amount = page.total_reserve_amount;
                all.total_count = page.total_count;
            }
            let empty = page.transactions.is_empty();
            all.transactions.extend(page.transactions);
            match page.next_page_token {
                Some(t) if !empty && seen.insert(t.clone()) => token = Some(t),
                _ => break,
            }
        }
        Ok(all)
    }

    /// Get Transactions by Order.
    pub async fn get_order_transactions(
        &self,
        order_id: &str,
    ) -> Result<OrderTransactions, TikTokError> {
        let path = order_transactions_path(order_id);
        self.call_api(Method::GET, &path, &[], None).await
    }

    /// One page of Get Payments, by `create_time`.
    pub async fn get_payments(&self, q: &PaymentQuery) -> Result<PaymentPage, TikTokError> {
        let params = [
            p("sort_field", "create_time"),
            p("sort_order", "ASC"),
            p("page_size", q.page_size.clamp(1, 100)),
            p("page_token", q.page_token.clone().unwrap_or_default()),
            p("create_time_ge", opt(q.create_time_ge)),
            p("create_time_lt", opt(q.create_time_lt)),
        ];
        let mut page: PaymentPage = self
            .call_api(Method::GET, GET_PAYMENTS_PATH, &params, None)
            .await?;
        page.next_page_token = next(page.next_page_token);
        Ok(page)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;
    use rust_decimal_macros::dec;

    #[test]
    fn a_transaction_keeps_unknown_fee_names_and_decimal_amounts() {
        let raw = r#"{"id":"T1","type":"ORDER","order_id":576486316948490001,
            "settlement_amount":"8.47","revenue_amount":"10.00","fee_tax_amount":"-1.53",
            "shipping_cost_amount":"","fee_tax_breakdown":{"fee":{"platform_commission_amount":"-0.60",
            "brand_new_fee_amount":"-0.93"},"tax":{"vat_amount":"0"}}}"#;
        let t: StatementTransaction = serde_json::from_str(raw).unwrap();
        assert_eq!(t.order_ref(), Some("576486316948490001"));
        assert_eq!(t.settlement_amount, dec!(8.47));
        assert_eq!(t.shipping_cost_amount, Decimal::ZERO);
        assert!(t.fee_tax_breakdown.fee.contains_key("brand_new_fee_amount"));
    }

    #[test]
    fn statement_transactions_use_the_2025_version() {
        assert_eq!(
            statement_transactions_path("7"),
            "/finance/202501/statements/7/statement_transactions"
        );
        assert_eq!(
            order_transactions_path("9"),
            "/finance/202501/orders/9/statement_transactions"
        );
    }
}
