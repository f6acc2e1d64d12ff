import { test } from "node:test";
import assert from "node:assert/strict";

import { Role } from "./gen/ates/auth/v1/auth_pb";
import { managesTasks, screenFromHash, screensFor } from "./nav";

test("each role is offered exactly the screens its calls are allowed", () => {
  assert.deepEqual(screensFor(Role.WORKER), ["tracker", "accounting"]);
  assert.deepEqual(screensFor(Role.MANAGER), ["tracker", "accounting"]);
  assert.deepEqual(screensFor(Role.ACCOUNTANT), ["tracker", "accounting", "management"]);
  assert.deepEqual(screensFor(Role.ADMIN), [
    "tracker",
    "accounting",
    "management",
    "analytics",
    "payouts",
  ]);
  assert.deepEqual(screensFor(Role.UNSPECIFIED), []);
});

test("a hash naming a screen the role may not use lands on its first screen", () => {
  assert.equal(screenFromHash("#/analytics", Role.ADMIN), "analytics");
  assert.equal(screenFromHash("#/analytics", Role.WORKER), "tracker");
  assert.equal(screenFromHash("#/payouts", Role.ACCOUNTANT), "tracker");
  assert.equal(screenFromHash("", Role.ACCOUNTANT), "tracker");
  assert.equal(screenFromHash("#/management", Role.ACCOUNTANT), "management");
});

test("only managers and admins manage tasks", () => {
  assert.equal(managesTasks(Role.ADMIN), true);
  assert.equal(managesTasks(Role.MANAGER), true);
  assert.equal(managesTasks(Role.ACCOUNTANT), false);
  assert.equal(managesTasks(Role.WORKER), false);
});
