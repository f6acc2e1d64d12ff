// The clients of the services the page calls, all generated from proto/ (src/gen), over
// gRPC-web. Every call carries the signed-in popug's token; an UNAUTHENTICATED answer to a call
// that had one means the token expired, and the app returns to sign-in.

import { Code, ConnectError, createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";

import { AccountingDashboardService } from "./gen/ates/bff/v1/bff_pb";
import { AnalyticsService } from "./gen/ates/analytics/v1/analytics_pb";
import { AuthService } from "./gen/ates/auth/v1/auth_pb";
import { PayoutsService } from "./gen/ates/payouts/v1/payouts_pb";
import { TrackerService } from "./gen/ates/tracker/v1/tracker_pb";

/** Where each service is, from the BFF's `/config.json`; empty is the page's own origin. */
export interface Addresses {
  auth: string;
  tracker: string;
  analytics: string;
  payouts: string;
  bff: string;
}

/** The clients of one signed-in tab. */
export interface Clients {
  auth: Client<typeof AuthService>;
  tracker: Client<typeof TrackerService>;
  dashboard: Client<typeof AccountingDashboardService>;
  analytics: Client<typeof AnalyticsService>;
  payouts: Client<typeof PayoutsService>;
}

/** Reads the addresses the BFF serves beside the page. */
export async function loadAddresses(): Promise<Addresses> {
  const response = await fetch("/config.json", { cache: "no-store" });
  if (!response.ok) {
    throw new Error(`/config.json answered ${response.status}`);
  }
  return (await response.json()) as Addresses;
}

/** Clients that send `token()` and call `expired()` when a call with a token is refused. */
export function clients(
  addresses: Addresses,
  token: () => string | undefined,
  expired: () => void,
): Clients {
  const authorize: Interceptor = (next) => async (request) => {
    const current = token();
    if (current) {
      request.header.set("authorization", `Bearer ${current}`);
    }
    try {
      return await next(request);
    } catch (error) {
      if (current && ConnectError.from(error).code === Code.Unauthenticated) {
        expired();
      }
      throw error;
    }
  };
  const transport = (address: string) =>
    createGrpcWebTransport({
      baseUrl: address || window.location.origin,
      interceptors: [authorize],
      defaultTimeoutMs: 10_000,
    });
  return {
    auth: createClient(AuthService, transport(addresses.auth)),
    tracker: createClient(TrackerService, transport(addresses.tracker)),
    dashboard: createClient(AccountingDashboardService, transport(addresses.bff)),
    analytics: createClient(AnalyticsService, transport(addresses.analytics)),
    payouts: createClient(PayoutsService, transport(addresses.payouts)),
  };
}

/** What a failed call says, for people: the server's message (which names the field). */
export function problem(error: unknown): string {
  const failure = ConnectError.from(error);
  switch (failure.code) {
    case Code.Unavailable:
      return failure.rawMessage || "The service is unavailable; try again shortly.";
    case Code.PermissionDenied:
      return `Not allowed: ${failure.rawMessage}`;
    case Code.DeadlineExceeded:
      return "The service did not answer in time; try again.";
    default:
      return failure.rawMessage || String(failure.message);
  }
}

/** Where the tab keeps its token: for this tab only, gone when it closes. */
export const session = {
  get(): string | undefined {
    return sessionStorage.getItem("ates.token") ?? undefined;
  },
  set(token: string): void {
    sessionStorage.setItem("ates.token", token);
  },
  clear(): void {
    sessionStorage.removeItem("ates.token");
  },
};
