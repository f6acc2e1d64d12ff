//! Every shell example in every README runs as printed, against the real binaries: the blocks
//! are read out of the Markdown, run in order in one shell (so the `grpc` function and `TOKEN` carry over, as
//! for a reader pasting them), and each must succeed and answer what it promises. Only the
//! addresses, the path of `.local/auth.env` and of the built binaries are swapped for this
//! test's own. A block this test does not run must say why below, so a new example cannot slip
//! in untested.

#![allow(clippy::unwrap_used)]

mod system;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use ates_contracts::ates::auth::v1 as auth;
use ates_testkit::SmtpSink;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// The Markdown files that hold shell examples, in the order a reader meets them.
const READMES: &[&str] = &[
    "README.md",
    "auth-svc/README.md",
    "tracker-svc/README.md",
    "accounting-svc/README.md",
    "payouts-svc/README.md",
    "bff-svc/README.md",
    "analytics-svc/README.md",
    "web/README.md",
    "k8s/ates/README.md",
];

/// What the test does with a block, chosen by the block's file and first line.
enum Verdict {
    /// Run it; its output must contain each of these.
    Run(&'static [&'static str]),
    /// Run it once the tracker knows a worker (a reader takes longer than auth's event does).
    RunOnceTheTrackerKnowsAWorker(&'static [&'static str]),
    /// Not run here, for this reason.
    NotHere(&'static str),
}

const VERDICTS: &[(&str, &str, Verdict)] = &[
    (
        "README.md",
        "make up     # run the whole system",
        Verdict::NotHere(
            "the two commands themselves: CI runs `make test`, and `make up` is what this test \
             stands in for (its services are the ones started here)",
        ),
    ),
    (
        "README.md",
        "grpc() { tools/node_modules/.bin/buf curl",
        Verdict::Run(&["ates.tracker.v1.TrackerService/CreateTask", "SERVING"]),
    ),
    (
        "README.md",
        "BEAK=$(sed",
        Verdict::Run(&["\"beak\"", "popug@ates.local", "ROLE_WORKER"]),
    ),
    (
        "README.md",
        "# A worker exists",
        Verdict::RunOnceTheTrackerKnowsAWorker(&["\"task\"", "Fix the beak", "\"businessDate\""]),
    ),
    ("README.md", "ME=$(grpc", Verdict::Run(&["\"beak\""])),
    (
        "README.md",
        "target/debug/ates-dead-letters queues",
        Verdict::Run(&[
            "0 parked",
            "moved back to accounting.ates.tracker.task-lifecycle",
        ]),
    ),
    (
        "payouts-svc/README.md",
        "grpc() { tools/node_modules/.bin/buf curl",
        // Nothing was earned on that date here: both answers are empty messages.
        Verdict::Run(&[]),
    ),
    (
        "analytics-svc/README.md",
        "grpc() { tools/node_modules/.bin/buf curl",
        Verdict::Run(&["\"businessDate\""]),
    ),
    (
        "analytics-svc/README.md",
        "grpc -H \"Authorization: Bearer $TOKEN\" -d '{\"wipe\": true}'",
        Verdict::Run(&["\"resyncId\""]),
    ),
    (
        "web/README.md",
        "npm ci --prefix web",
        Verdict::NotHere(
            "`make test` runs these two commands before the tests (scripts/web.sh), and building \
             again here would replace web/dist under the browser test running beside this one",
        ),
    ),
    (
        "k8s/ates/README.md",
        "docker build",
        Verdict::NotHere(
            "needs Docker and a registry; the image's binaries are the ones tested here",
        ),
    ),
    (
        "k8s/ates/README.md",
        "kubectl create namespace",
        Verdict::NotHere(
            "needs a Kubernetes cluster; the Secret names are checked against the chart by \
             `make k8s-check`",
        ),
    ),
    (
        "k8s/ates/README.md",
        "helm install",
        Verdict::NotHere(
            "needs a Kubernetes cluster; the chart it installs is rendered, linted and \
             validated by `make k8s-check`",
        ),
    ),
    (
        "k8s/ates/README.md",
        "helm upgrade",
        Verdict::NotHere(
            "needs a Kubernetes cluster; `make k8s-check` tests that this upgrade changes only \
             the tracker's Deployment",
        ),
    ),
];

struct Block {
    file: &'static str,
    line: usize,
    text: String,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The fenced `sh`/`bash` blocks of a Markdown file, de-indented to their fence.
fn shell_blocks(file: &'static str) -> Vec<Block> {
    let markdown = std::fs::read_to_string(root().join(file)).unwrap();
    let mut blocks = Vec::new();
    let mut open: Option<(usize, usize, Vec<String>)> = None;
    for (number, line) in markdown.lines().enumerate() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        match &mut open {
            None if trimmed == "```sh" || trimmed == "```bash" || trimmed == "```shell" => {
                open = Some((number + 1, indent, Vec::new()));
            }
            Some((start, _, lines)) if trimmed == "```" => {
                blocks.push(Block {
                    file,
                    line: *start,
                    text: lines.join("\n"),
                });
                open = None;
            }
            Some((_, fence, lines)) => {
                lines.push(line.get(*fence..).unwrap_or(trimmed).to_owned());
            }
            None => {}
        }
    }
    assert!(open.is_none(), "{file}: a shell block is never closed");
    blocks
}

fn verdict(block: &Block) -> &'static Verdict {
    let first = block.text.lines().next().unwrap_or_default();
    let found: Vec<_> = VERDICTS
        .iter()
        .filter(|(file, start, _)| *file == block.file && first.starts_with(start))
        .collect();
    match found.as_slice() {
        [(_, _, verdict)] => verdict,
        [] => panic!(
            "{}:{}: this shell example is neither run by this test nor said why not; add it to \
             VERDICTS:\n{}",
            block.file, block.line, block.text
        ),
        _ => panic!("{}:{}: more than one verdict fits", block.file, block.line),
    }
}

/// A shell the blocks are pasted into, one after another.
struct Shell {
    child: tokio::process::Child,
    input: tokio::process::ChildStdin,
    output: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
}

const DONE: &str = "::readme-block-done::";

impl Shell {
    fn start(environment: &[(&str, String)]) -> Self {
        let mut child = tokio::process::Command::new("bash")
            .args(["--noprofile", "--norc"])
            .current_dir(root())
            .envs(environment.iter().map(|(key, value)| (*key, value)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let input = child.stdin.take().unwrap();
        let output = BufReader::new(child.stdout.take().unwrap()).lines();
        Self {
            child,
            input,
            output,
        }
    }

    /// Runs `script` as pasted; its output, or the output so far if it failed.
    async fn run(&mut self, script: &str) -> Result<String, String> {
        // stdin stays the test's pipe for the next block: the commands read /dev/null.
        let wrapped = format!(
            "exec 2>&1\nset -euo pipefail\n{{\n{script}\n}} </dev/null\nset +euo pipefail\nprintf '\\n%s\\n' '{DONE}'\n"
        );
        self.input.write_all(wrapped.as_bytes()).await.unwrap();
        self.input.flush().await.unwrap();
        let mut output = String::new();
        let finished = tokio::time::timeout(Duration::from_secs(60), async {
            while let Some(line) = self.output.next_line().await.unwrap() {
                if line == DONE {
                    return true;
                }
                output.push_str(&line);
                output.push('\n');
            }
            false
        })
        .await;
        match finished {
            Ok(true) => Ok(output),
            Ok(false) => {
                let status = self.child.wait().await.unwrap();
                Err(format!("{output}(the shell exited: {status})"))
            }
            Err(_) => Err(format!("{output}(still running after 60 s)")),
        }
    }
}

fn host_port(endpoint: &str) -> &str {
    endpoint.trim_start_matches("http://")
}

#[tokio::test(flavor = "multi_thread")]
async fn every_shell_example_in_every_readme_runs_as_printed() {
    let blocks: Vec<Block> = READMES.iter().flat_map(|file| shell_blocks(file)).collect();
    // Every verdict fits a block: a changed example is not silently dropped.
    for (file, start, _) in VERDICTS {
        assert!(
            blocks.iter().any(|block| block.file == *file
                && block
                    .text
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .starts_with(start)),
            "{file}: no shell example starts with `{start}` any more; update VERDICTS"
        );
    }

    let system = system::System::start().await;
    let smtp = SmtpSink::start().await.unwrap();
    let payouts = system.start_payouts_alone(&smtp.url(), &[]).await;
    let analytics = system.start_analytics().await;
    let auth_env = tempfile_with(&format!(
        "AUTH_BOOTSTRAP_ADMIN_EMAIL={}\nAUTH_BOOTSTRAP_ADMIN_BEAK={}\n",
        system::ADMIN_EMAIL,
        system::ADMIN_BEAK
    ));
    let bin = system::binary("ates-dead-letters");
    let replacements: Vec<(String, String)> = vec![
        (
            "127.0.0.1:50051".into(),
            host_port(&system.auth.endpoint).into(),
        ),
        (
            "127.0.0.1:50052".into(),
            host_port(&system.tracker.endpoint).into(),
        ),
        (
            "127.0.0.1:50053".into(),
            host_port(&system.accounting.endpoint).into(),
        ),
        (
            "127.0.0.1:50054".into(),
            host_port(&payouts.endpoint).into(),
        ),
        (
            "127.0.0.1:50056".into(),
            host_port(&analytics.endpoint).into(),
        ),
        (".local/auth.env".into(), auth_env.display().to_string()),
        (
            "target/debug/ates-dead-letters".into(),
            bin.display().to_string(),
        ),
    ];
    let mut shell = Shell::start(&[
        ("AMQP_URL", system.broker.url().to_owned()),
        ("AMQP_NAME_PREFIX", system.broker.prefix().to_owned()),
        ("RUST_LOG", "warn".to_owned()),
    ]);
    let tracker_database =
        ates_storage::pool(system.tracker.database.as_ref().unwrap().url(), 1).unwrap();

    let mut ran = 0;
    for block in &blocks {
        let expected = match verdict(block) {
            Verdict::NotHere(why) => {
                eprintln!("{}:{}: not run here: {why}", block.file, block.line);
                continue;
            }
            Verdict::Run(expected) => expected,
            Verdict::RunOnceTheTrackerKnowsAWorker(expected) => {
                let known = ates_testkit::eventually(Duration::from_secs(30), || async {
                    (ates_testkit::database::count(
                        &tracker_database,
                        "SELECT count(*) AS n FROM accounts WHERE role = 'worker'",
                    )
                    .await
                        > 0)
                    .then_some(())
                })
                .await;
                assert!(known.is_some(), "the tracker never learned the worker");
                expected
            }
        };
        let script = replacements
            .iter()
            .fold(block.text.clone(), |script, (from, to)| {
                script.replace(from, to)
            });
        let output = shell.run(&script).await.unwrap_or_else(|output| {
            panic!(
                "{}:{}: the example fails:\n{}\n--- output ---\n{output}",
                block.file, block.line, block.text
            )
        });
        for wanted in *expected {
            assert!(
                output.contains(wanted),
                "{}:{}: the example's output lacks `{wanted}`:\n{output}",
                block.file,
                block.line
            );
        }
        ran += 1;
    }
    assert_eq!(
        ran,
        VERDICTS
            .iter()
            .filter(|(_, _, verdict)| !matches!(verdict, Verdict::NotHere(_)))
            .count()
    );

    // The reissue example did what it says: the first admin's old beak no longer signs in.
    let refused = system
        .auth()
        .await
        .sign_in(auth::SignInRequest {
            beak: system::ADMIN_BEAK.to_owned(),
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unauthenticated);
    let _ = std::fs::remove_file(&auth_env);
}

/// A file of the test's own holding `text`, readable by the test's user alone.
fn tempfile_with(text: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt as _;
    let path = std::env::temp_dir().join(format!("ates-readme-{}.env", uuid::Uuid::new_v4()));
    std::fs::write(&path, text).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

#[test]
fn the_block_reader_finds_indented_blocks_and_only_shell_ones() {
    let blocks = shell_blocks("payouts-svc/README.md");
    assert!(
        blocks
            .iter()
            .any(|block| block.text.starts_with("grpc() { tools/node_modules")),
        "an indented block is read and de-indented"
    );
    let all = shell_blocks("k8s/ates/README.md");
    assert!(
        all.iter()
            .all(|block| !block.text.contains("values don't meet")),
        "a plain ``` block (an error message) is not a shell example"
    );
    assert!(Path::new(&root().join("README.md")).exists());
}
