// The aTES dashboards: sign-in, then the screens the popug's role may use.

import { render } from "preact";
import { useCallback, useEffect, useMemo, useRef, useState } from "preact/hooks";
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  LinearScale,
  Tooltip,
} from "chart.js";

import { Code, ConnectError } from "@connectrpc/connect";

import { clients, loadAddresses, problem, session, type Clients } from "./api";
import { businessDate, dollars, money, shortDate, taskName } from "./format";
import { SCREENS, managesTasks, roleName, screenFromHash, screensFor, type Screen } from "./nav";
import type { Account } from "./gen/ates/auth/v1/auth_pb";
import { EntryKind, type GetStatementResponse } from "./gen/ates/accounting/v1/accounting_pb";
import { Period, type TaskPrice } from "./gen/ates/analytics/v1/analytics_pb";
import type { GetManagementDashboardResponse } from "./gen/ates/bff/v1/bff_pb";
import { EmailStatus, type Payout } from "./gen/ates/payouts/v1/payouts_pb";
import { TaskStatus, type Task } from "./gen/ates/tracker/v1/tracker_pb";

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Tooltip);

const EXPIRED = "Your session has expired. Sign in again.";

function App() {
  const [api, setApi] = useState<Clients>();
  const [me, setMe] = useState<Account>();
  const [notice, setNotice] = useState<string>();
  const [loading, setLoading] = useState(true);
  const [hash, setHash] = useState(window.location.hash);

  const signOut = useCallback((message?: string) => {
    session.clear();
    setMe(undefined);
    setNotice(message);
  }, []);

  useEffect(() => {
    const onHash = () => setHash(window.location.hash);
    window.addEventListener("hashchange", onHash);
    loadAddresses()
      .then(async (addresses) => {
        const made = clients(addresses, session.get, () => signOut(EXPIRED));
        setApi(made);
        if (session.get()) {
          try {
            setMe((await made.auth.whoAmI({})).account);
          } catch (failure) {
            // An expired token has already signed the tab out (the clients' interceptor); any
            // other failure keeps the token and says what went wrong.
            if (ConnectError.from(failure).code !== Code.Unauthenticated) {
              setNotice(`Cannot reach auth-svc: ${problem(failure)}`);
            }
          }
        }
      })
      .catch((error) => setNotice(`The page cannot reach the BFF: ${String(error)}`))
      .finally(() => setLoading(false));
    return () => window.removeEventListener("hashchange", onHash);
  }, [signOut]);

  if (loading) {
    return <p class="loading">Loading…</p>;
  }
  if (!api) {
    return <p class="error" role="alert">{notice}</p>;
  }
  if (!me) {
    return (
      <SignIn
        api={api}
        notice={notice}
        signedIn={(account) => {
          setNotice(undefined);
          setMe(account);
        }}
      />
    );
  }
  const screen = screenFromHash(hash, me.role) ?? "tracker";
  const allowed = screensFor(me.role);
  return (
    <div class="app">
      <header>
        <h1>aTES</h1>
        <nav aria-label="Screens">
          {SCREENS.filter((item) => allowed.includes(item.screen)).map((item) => (
            <a
              href={`#/${item.screen}`}
              aria-current={item.screen === screen ? "page" : undefined}
              key={item.screen}
            >
              {item.label}
            </a>
          ))}
        </nav>
        <div class="who">
          <span data-testid="who">
            {me.email} ({roleName(me.role)})
          </span>
          <button type="button" onClick={() => signOut("You signed out.")}>
            Sign out
          </button>
        </div>
      </header>
      <main>
        <ScreenView screen={screen} api={api} me={me} />
      </main>
    </div>
  );
}

function ScreenView({ screen, api, me }: { screen: Screen; api: Clients; me: Account }) {
  switch (screen) {
    case "tracker":
      return <TrackerScreen api={api} me={me} />;
    case "accounting":
      return <MyAccountScreen api={api} />;
    case "management":
      return <ManagementScreen api={api} />;
    case "analytics":
      return <AnalyticsScreen api={api} />;
    case "payouts":
      return <PayoutsScreen api={api} />;
  }
}

function SignIn({
  api,
  notice,
  signedIn,
}: {
  api: Clients;
  notice?: string;
  signedIn: (account: Account) => void;
}) {
  const [beak, setBeak] = useState("");
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const answer = await api.auth.signIn({ beak: beak.trim() });
      session.set(answer.accessToken);
      const who = await api.auth.whoAmI({});
      if (who.account) {
        signedIn(who.account);
      }
    } catch (failure) {
      setError(problem(failure));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="sign-in">
      <h1>aTES</h1>
      <p>Awesome Task Exchange System</p>
      {notice && (
        <p class="notice" role="status">
          {notice}
        </p>
      )}
      <form onSubmit={submit}>
        <label for="beak">Beak</label>
        <input
          id="beak"
          type="password"
          autocomplete="current-password"
          value={beak}
          onInput={(event) => setBeak(event.currentTarget.value)}
          required
        />
        <button type="submit" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
      </form>
    </main>
  );
}

/** Runs `load` now and whenever `reload()` is called; shows its state. */
function useLoad<T>(load: () => Promise<T>, deps: unknown[]) {
  const [value, setValue] = useState<T>();
  const [error, setError] = useState<string>();
  const [round, setRound] = useState(0);
  // New inputs drop the old answer (it was another question's); a reload keeps it on screen
  // until the new one arrives.
  const key = JSON.stringify(deps);
  const asked = useRef(key);
  useEffect(() => {
    let current = true;
    setError(undefined);
    if (asked.current !== key) {
      asked.current = key;
      setValue(undefined);
    }
    load()
      .then((loaded) => current && setValue(loaded))
      .catch((failure) => current && setError(problem(failure)));
    return () => {
      current = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, round]);
  return { value, error, reload: () => setRound((n) => n + 1) };
}

function Problem({ error }: { error?: string }) {
  return error ? (
    <p class="error" role="alert">
      {error}
    </p>
  ) : null;
}

function TrackerScreen({ api, me }: { api: Clients; me: Account }) {
  const mine = useLoad(async () => (await api.tracker.listMyTasks({ pageSize: 500 })).tasks, []);
  const manages = managesTasks(me.role);
  const all = useLoad(
    async () => (manages ? (await api.tracker.listTasks({ pageSize: 500 })).tasks : []),
    [manages],
  );
  const [message, setMessage] = useState<string>();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const reload = () => {
    mine.reload();
    all.reload();
  };
  /** Runs one change at a time (buttons are disabled meanwhile); true when it succeeded. */
  const act = async (work: () => Promise<string>): Promise<boolean> => {
    setError(undefined);
    setMessage(undefined);
    setBusy(true);
    try {
      setMessage(await work());
      reload();
      return true;
    } catch (failure) {
      setError(problem(failure));
      return false;
    } finally {
      setBusy(false);
    }
  };
  const open = (mine.value ?? []).filter((task) => task.status === TaskStatus.OPEN);
  const done = (mine.value ?? []).filter((task) => task.status === TaskStatus.DONE);
  return (
    <section>
      <h2>Tasks</h2>
      <CreateTask
        busy={busy}
        onCreate={(request) =>
          act(async () => {
            const created = await api.tracker.createTask({
              ...request,
              requestId: crypto.randomUUID(),
            });
            const task = created.task;
            return task
              ? `Created “${taskName(task.title, task.jiraId)}”: fee ${money(-task.feeCents)}, reward ${money(task.rewardCents)}.`
              : "Created.";
          })
        }
      />
      {message && (
        <p class="notice" role="status">
          {message}
        </p>
      )}
      <Problem error={error} />
      {!manages && (
        <>
          <h3>My open tasks</h3>
          <Problem error={mine.error} />
          <TaskTable
            tasks={open}
            loading={!mine.value && !mine.error}
            empty="No open tasks: nothing is assigned to you."
            action={(task) => (
              <button
                type="button"
                onClick={() =>
                  act(async () => {
                    await api.tracker.completeTask({ taskId: task.taskId, requestId: crypto.randomUUID() });
                    return `Done: “${taskName(task.title, task.jiraId)}”, reward ${money(task.rewardCents)}.`;
                  })
                }
              >
                Mark done
              </button>
            )}
          />
          <h3>My done tasks</h3>
          <TaskTable tasks={done} loading={!mine.value && !mine.error} empty="None done yet." />
        </>
      )}
      {manages && (
        <>
          <h3>All tasks</h3>
          <button
            type="button"
            class="primary"
            disabled={busy}
            onClick={() =>
              act(async () => {
                const reshuffle = await api.tracker.reassignOpenTasks({ requestId: crypto.randomUUID() });
                return `Reassigned ${reshuffle.reassignedCount} open task${reshuffle.reassignedCount === 1n ? "" : "s"}.`;
              })
            }
          >
            Reshuffle open tasks
          </button>
          <Problem error={all.error} />
          <TaskTable
            tasks={all.value ?? []}
            loading={!all.value && !all.error}
            empty="No tasks yet."
            showAssignee
          />
        </>
      )}
    </section>
  );
}

function CreateTask({
  onCreate,
  busy,
}: {
  onCreate: (request: { title: string; jiraId: string; description: string }) => Promise<boolean>;
  busy: boolean;
}) {
  const [title, setTitle] = useState("");
  const [jiraId, setJiraId] = useState("");
  const [description, setDescription] = useState("");
  const submit = async (event: Event) => {
    event.preventDefault();
    // What was typed stays when the tracker refuses it, to be corrected.
    if (await onCreate({ title, jiraId, description })) {
      setTitle("");
      setJiraId("");
      setDescription("");
    }
  };
  return (
    <form class="create" onSubmit={submit} aria-label="Create a task">
      <div class="field">
        <label for="title">Title</label>
        <input
          id="title"
          value={title}
          maxLength={200}
          required
          onInput={(event) => setTitle(event.currentTarget.value)}
        />
      </div>
      <div class="field">
        <label for="jira">Jira id (optional)</label>
        <input
          id="jira"
          value={jiraId}
          placeholder="UBERPOP-42"
          onInput={(event) => setJiraId(event.currentTarget.value)}
        />
      </div>
      <div class="field wide">
        <label for="description">Description</label>
        <textarea
          id="description"
          value={description}
          required
          rows={2}
          onInput={(event) => setDescription(event.currentTarget.value)}
        />
      </div>
      <button type="submit" class="primary" disabled={busy}>
        Create task
      </button>
    </form>
  );
}

function TaskTable({
  tasks,
  loading,
  empty,
  action,
  showAssignee,
}: {
  tasks: Task[];
  loading: boolean;
  empty: string;
  action?: (task: Task) => preact.ComponentChildren;
  showAssignee?: boolean;
}) {
  if (loading) {
    return <p class="loading">Loading…</p>;
  }
  if (tasks.length === 0) {
    return <p class="empty">{empty}</p>;
  }
  return (
    <table>
      <thead>
        <tr>
          <th>Task</th>
          <th>Description</th>
          <th class="money">Fee</th>
          <th class="money">Reward</th>
          {showAssignee && <th>Assignee</th>}
          {showAssignee && <th>Status</th>}
          {action && <th />}
        </tr>
      </thead>
      <tbody>
        {tasks.map((task) => (
          <tr key={task.taskId} data-task={task.taskId}>
            <td>{taskName(task.title, task.jiraId)}</td>
            <td class="description">{task.description}</td>
            <td class="money" data-label="Fee">{money(-task.feeCents)}</td>
            <td class="money" data-label="Reward">{money(task.rewardCents)}</td>
            {showAssignee && (
              <td data-label="Assignee" class="id" title={task.assigneeId}>
                {task.assigneeId.slice(0, 8)}
              </td>
            )}
            {showAssignee && <td data-label="Status">{task.status === TaskStatus.DONE ? "done" : "open"}</td>}
            {action && <td>{action(task)}</td>}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function DatePicker({ value, onChange, label }: { value: string; onChange: (date: string) => void; label: string }) {
  return (
    <div class="field">
      <label for="date">{label}</label>
      <input id="date" type="date" value={value} onChange={(event) => onChange(event.currentTarget.value)} />
    </div>
  );
}

function MyAccountScreen({ api }: { api: Clients }) {
  const [date, setDate] = useState("");
  const statement = useLoad(
    async () => (await api.dashboard.getMyDashboard({ businessDate: date })).statement,
    [date],
  );
  return (
    <section>
      <h2>My account</h2>
      <DatePicker label="Business date (empty: today)" value={date} onChange={setDate} />
      <Problem error={statement.error} />
      <Statement statement={statement.value} loading={!statement.value && !statement.error} />
    </section>
  );
}

const KINDS: Record<number, string> = {
  [EntryKind.ASSIGNMENT_FEE]: "assignment fee",
  [EntryKind.COMPLETION_REWARD]: "completion reward",
  [EntryKind.PAYOUT]: "payout",
};

function Statement({ statement, loading }: { statement?: GetStatementResponse; loading: boolean }) {
  if (loading) {
    return <p class="loading">Loading…</p>;
  }
  if (!statement) {
    return null;
  }
  return (
    <div class="statement">
      <dl class="figures">
        <div>
          <dt>Account</dt>
          <dd class="id" title={statement.accountId}>
            {statement.accountId.slice(0, 8)}
          </dd>
        </div>
        <div>
          <dt>Business date</dt>
          <dd>{businessDate(statement.businessDate)}</dd>
        </div>
        <div>
          <dt>Opening balance</dt>
          <dd data-testid="opening">{money(statement.openingBalanceCents)}</dd>
        </div>
        <div>
          <dt>Closing balance</dt>
          <dd data-testid="closing" class={statement.closingBalanceCents < 0n ? "negative" : ""}>
            {money(statement.closingBalanceCents)}
          </dd>
        </div>
      </dl>
      {statement.nextPageToken && (
        <p class="notice">Showing the first {statement.entries.length} entries of this date.</p>
      )}
      {statement.entries.length === 0 ? (
        <p class="empty">No entries on this date.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th>Time</th>
              <th>Kind</th>
              <th>Task</th>
              <th>Description</th>
              <th class="money">Amount</th>
            </tr>
          </thead>
          <tbody>
            {statement.entries.map((entry) => (
              <tr key={entry.entryId} data-kind={KINDS[entry.kind]}>
                <td>
                  {entry.occurredAt
                    ? new Date(Number(entry.occurredAt.seconds) * 1000).toLocaleTimeString()
                    : ""}
                </td>
                <td data-label="Kind">{KINDS[entry.kind] ?? "entry"}</td>
                <td>{taskName(entry.taskTitle, entry.taskJiraId)}</td>
                <td class="description">{entry.taskDescription}</td>
                <td data-label="Amount" class={`money ${entry.amountCents < 0n ? "negative" : ""}`}>
                  {money(entry.amountCents)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

function Bars({ labels, values, label }: { labels: string[]; values: number[]; label: string }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    if (!canvas.current) {
      return undefined;
    }
    const chart = new Chart(canvas.current, {
      type: "bar",
      data: {
        labels,
        datasets: [
          {
            label,
            data: values,
            backgroundColor: values.map((value) => (value < 0 ? "#c0392b" : "#2e7d32")),
          },
        ],
      },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        scales: { y: { ticks: { callback: (value) => `$${value}` } } },
      },
    });
    return () => chart.destroy();
  }, [labels.join(","), values.join(","), label]);
  return (
    <div class="chart">
      <canvas ref={canvas} role="img" aria-label={label} data-values={values.join(",")} />
    </div>
  );
}

function ManagementScreen({ api }: { api: Clients }) {
  const dashboard = useLoad(async () => api.dashboard.getManagementDashboard({}), []);
  const [accountId, setAccountId] = useState("");
  const [date, setDate] = useState("");
  const [asked, setAsked] = useState<{ accountId: string; date: string; round: number }>();
  const statement = useLoad(
    async () =>
      asked
        ? (await api.dashboard.getAccountStatement({ accountId: asked.accountId, businessDate: asked.date })).statement
        : undefined,
    [asked?.accountId, asked?.date, asked?.round],
  );
  return (
    <section>
      <h2>Accounting</h2>
      <Problem error={dashboard.error} />
      {!dashboard.value && !dashboard.error && <p class="loading">Loading…</p>}
      {dashboard.value && <Management dashboard={dashboard.value} />}
      <h3>Any account's statement</h3>
      <form
        class="create"
        onSubmit={(event) => {
          event.preventDefault();
          setAsked({ accountId: accountId.trim(), date, round: (asked?.round ?? 0) + 1 });
        }}
      >
        <div class="field">
          <label for="account">Account id</label>
          <input id="account" value={accountId} required onInput={(event) => setAccountId(event.currentTarget.value)} />
        </div>
        <DatePicker label="Business date (empty: today)" value={date} onChange={setDate} />
        <button type="submit" class="primary">
          Show statement
        </button>
      </form>
      <Problem error={statement.error} />
      {asked && <Statement statement={statement.value} loading={!statement.value && !statement.error} />}
    </section>
  );
}

function Management({ dashboard }: { dashboard: GetManagementDashboardResponse }) {
  const today = dashboard.today;
  const labels = useMemo(() => dashboard.days.map((day) => shortDate(day.businessDate)), [dashboard]);
  const values = useMemo(() => dashboard.days.map((day) => dollars(day.earningsCents)), [dashboard]);
  return (
    <>
      <dl class="figures">
        <div>
          <dt>Management earned today</dt>
          <dd data-testid="earnings-today">{today ? money(today.earningsCents) : "—"}</dd>
        </div>
        <div>
          <dt>Fees today</dt>
          <dd>{today ? money(today.feesCents) : "—"}</dd>
        </div>
        <div>
          <dt>Rewards today</dt>
          <dd>{today ? money(-today.rewardsCents) : "—"}</dd>
        </div>
        <div>
          <dt>Popugs in the red</dt>
          <dd data-testid="negative-count">{dashboard.negativeBalanceCount.toString()}</dd>
        </div>
      </dl>
      <h3>Earnings per day, last {dashboard.days.length} days</h3>
      <Bars labels={labels} values={values} label="Management earnings per day, in dollars" />
    </>
  );
}

function TaskPriceView({ price, empty }: { price?: TaskPrice; empty: string }) {
  if (!price) {
    return <span class="empty">{empty}</span>;
  }
  return (
    <span>
      <strong>{taskName(price.title, price.jiraId) || price.description}</strong> {money(price.rewardCents)} (
      {businessDate(price.completedOn)})
    </span>
  );
}

function AnalyticsScreen({ api }: { api: Clients }) {
  const summary = useLoad(async () => api.analytics.getSummary({}), []);
  const most = useLoad(async () => {
    const [day, week, month] = await Promise.all(
      [Period.DAY, Period.WEEK, Period.MONTH].map((period) => api.analytics.getMostExpensiveTask({ period })),
    );
    return { day: day.task, week: week.task, month: month.task };
  }, []);
  const series = useLoad(async () => {
    const to = summary.value?.businessDate;
    if (!to) {
      return undefined;
    }
    const end = new Date(`${to}T00:00:00Z`);
    const from = new Date(end.getTime() - 29 * 86_400_000).toISOString().slice(0, 10);
    return (await api.analytics.getMostExpensiveTaskSeries({ fromDate: from, toDate: to })).days;
  }, [summary.value?.businessDate]);
  return (
    <section>
      <h2>Analytics</h2>
      <Problem error={summary.error ?? most.error ?? series.error} />
      {summary.value && (
        <dl class="figures">
          <div>
            <dt>Management earned today</dt>
            <dd data-testid="analytics-earnings">{money(summary.value.managementEarningsCents)}</dd>
          </div>
          <div>
            <dt>Popugs in the red</dt>
            <dd data-testid="analytics-negative">{summary.value.negativeBalanceCount.toString()}</dd>
          </div>
          <div>
            <dt>Workers</dt>
            <dd>{summary.value.workerCount.toString()}</dd>
          </div>
        </dl>
      )}
      {summary.value?.rebuilding && <p class="notice">Analytics is rebuilding its figures from the producers.</p>}
      <h3>Most expensive task</h3>
      {most.value ? (
        <ul class="most">
          <li data-testid="most-day">
            Today: <TaskPriceView price={most.value.day} empty="none completed today" />
          </li>
          <li>
            This week: <TaskPriceView price={most.value.week} empty="none completed this week" />
          </li>
          <li>
            This month: <TaskPriceView price={most.value.month} empty="none completed this month" />
          </li>
        </ul>
      ) : (
        !most.error && <p class="loading">Loading…</p>
      )}
      {series.value && (
        <>
          <h3>Most expensive task per day</h3>
          <Bars
            labels={series.value.map((day) => shortDate(day.businessDate))}
            values={series.value.map((day) => (day.task ? dollars(day.task.rewardCents) : 0))}
            label="Reward of the most expensive task completed each day, in dollars"
          />
        </>
      )}
    </section>
  );
}

const EMAIL: Record<number, string> = {
  [EmailStatus.WAITING_FOR_ADDRESS]: "waiting for an address",
  [EmailStatus.PENDING]: "sending",
  [EmailStatus.SENT]: "sent",
  [EmailStatus.FAILED]: "failed",
};

/** The business date before `isoDate`. */
function dayBefore(isoDate: string): string {
  return new Date(Date.parse(`${isoDate}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10);
}

function PayoutsScreen({ api }: { api: Clients }) {
  // The services' business day, not the browser's: analytics says which date it is.
  const today = useLoad(async () => (await api.analytics.getSummary({})).businessDate, []);
  const [chosen, setChosen] = useState<string>();
  const date = chosen ?? (today.value ? dayBefore(today.value) : undefined);
  const payouts = useLoad(
    async () => (date ? (await api.payouts.listPayouts({ businessDate: date, pageSize: 500 })).payouts : undefined),
    [date],
  );
  const [confirming, setConfirming] = useState(false);
  const [message, setMessage] = useState<string>();
  const [error, setError] = useState<string>();
  const close = async () => {
    if (!date) {
      return;
    }
    setConfirming(false);
    setMessage(undefined);
    setError(undefined);
    try {
      const closed = await api.payouts.closeBusinessDay({ businessDate: date });
      const earlier = closed.alsoClosedDates.length
        ? ` Earlier days closed with it: ${closed.alsoClosedDates.map(businessDate).join(", ")}.`
        : "";
      setMessage(
        closed.alreadyClosed
          ? `${businessDate(date)} was already closed.`
          : `Closed ${businessDate(date)}: ${closed.payouts.length} payout${closed.payouts.length === 1 ? "" : "s"}.${earlier}`,
      );
      payouts.reload();
    } catch (failure) {
      setError(problem(failure));
    }
  };
  return (
    <section>
      <h2>Payouts</h2>
      <Problem error={today.error} />
      {date && <DatePicker label="Business date" value={date} onChange={setChosen} />}
      {confirming ? (
        <p class="confirm" role="group" aria-label="Confirm the close">
          Pay out every positive balance of {date ? businessDate(date) : ""}? This cannot be undone.{" "}
          <button type="button" class="primary" onClick={close}>
            Yes, close it
          </button>{" "}
          <button type="button" onClick={() => setConfirming(false)}>
            Cancel
          </button>
        </p>
      ) : (
        <button type="button" class="primary" disabled={!date} onClick={() => setConfirming(true)}>
          Close this day
        </button>
      )}
      {message && (
        <p class="notice" role="status">
          {message}
        </p>
      )}
      <Problem error={error ?? payouts.error} />
      {date && <PayoutTable payouts={payouts.value} />}
    </section>
  );
}

function PayoutTable({ payouts }: { payouts?: Payout[] }) {
  if (!payouts) {
    return <p class="loading">Loading…</p>;
  }
  if (payouts.length === 0) {
    return <p class="empty">No payouts on this date.</p>;
  }
  return (
    <table>
      <thead>
        <tr>
          <th>Account</th>
          <th class="money">Amount</th>
          <th>E-mail</th>
        </tr>
      </thead>
      <tbody>
        {payouts.map((payout) => (
          <tr key={payout.payoutId}>
            <td class="id">{payout.accountId}</td>
            <td class="money">{money(payout.amountCents)}</td>
            <td>
              {EMAIL[payout.emailStatus] ?? "unknown"}
              {payout.emailError ? `: ${payout.emailError}` : ""}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

render(<App />, document.getElementById("app")!);
