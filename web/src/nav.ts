// Which screens a role may use. The server checks every call; this only keeps the navigation
// honest, so nobody is offered a screen that would refuse them.

import { Role } from "./gen/ates/auth/v1/auth_pb";

/** A screen of the app. */
export type Screen = "tracker" | "accounting" | "management" | "analytics" | "payouts";

/** Screens in navigation order, with their labels. */
export const SCREENS: ReadonlyArray<{ screen: Screen; label: string }> = [
  { screen: "tracker", label: "Tasks" },
  { screen: "accounting", label: "My account" },
  { screen: "management", label: "Accounting" },
  { screen: "analytics", label: "Analytics" },
  { screen: "payouts", label: "Payouts" },
];

/** The screens `role` may open. */
export function screensFor(role: Role): Screen[] {
  switch (role) {
    case Role.ADMIN:
      return ["tracker", "accounting", "management", "analytics", "payouts"];
    case Role.ACCOUNTANT:
      return ["tracker", "accounting", "management"];
    case Role.MANAGER:
    case Role.WORKER:
      return ["tracker", "accounting"];
    default:
      return [];
  }
}

/** Whether `role` manages tasks: sees every task and may reshuffle. */
export function managesTasks(role: Role): boolean {
  return role === Role.ADMIN || role === Role.MANAGER;
}

/** The screen named by a location hash (`#/analytics`), if `role` may open it; else its first. */
export function screenFromHash(hash: string, role: Role): Screen | undefined {
  const allowed = screensFor(role);
  const named = hash.replace(/^#\/?/, "") as Screen;
  return allowed.includes(named) ? named : allowed[0];
}

/** A role's name for people. */
export function roleName(role: Role): string {
  switch (role) {
    case Role.ADMIN:
      return "admin";
    case Role.MANAGER:
      return "manager";
    case Role.ACCOUNTANT:
      return "accountant";
    case Role.WORKER:
      return "worker";
    default:
      return "no role";
  }
}
