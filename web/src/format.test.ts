import { test } from "node:test";
import assert from "node:assert/strict";

import { businessDate, money, shortDate, taskName } from "./format";

test("money is signed dollars and cents with thousands grouped", () => {
  assert.equal(money(0n), "$0.00");
  assert.equal(money(1234n), "+$12.34");
  assert.equal(money(-500n), "\u2212$5.00");
  assert.equal(money(-7n), "\u2212$0.07");
  assert.equal(money(123456789n), "+$1,234,567.89");
  assert.equal(money(-100000n), "\u2212$1,000.00");
});

test("business dates read as written, whatever the browser's time zone", () => {
  assert.equal(businessDate("2026-11-25"), "Wed 25 Nov 2026");
  assert.equal(businessDate("2026-01-01"), "Thu 1 Jan 2026");
  assert.equal(shortDate("2026-12-03"), "3 Dec");
  assert.equal(businessDate("not a date"), "not a date");
});

test("a task's name puts the jira id first when it has one", () => {
  assert.equal(taskName("Fix the button", "UBERPOP-42"), "UBERPOP-42 \u00b7 Fix the button");
  assert.equal(taskName("Fix the button", ""), "Fix the button");
  assert.equal(taskName("", "UBERPOP-42"), "UBERPOP-42");
});
