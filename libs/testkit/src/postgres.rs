//! A PostgreSQL server of the test's own, on an unusual port, with its data in a temporary
//! folder: it can be killed (SIGKILL to the postmaster and every backend, as a crash of the
//! machine's database would be) and started again on the same data, which then runs crash
//! recovery. Durability stays on.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use anyhow::Context as _;

use crate::process::ChildProcess;

/// A private PostgreSQL server (see the module docs).
#[derive(Debug)]
pub struct PrivatePostgres {
    // Fields drop in order: the server dies before its folder is deleted.
    server: Option<ChildProcess>,
    bin: PathBuf,
    port: u16,
    as_postgres_user: bool,
    directory: tempfile::TempDir,
}

/// The folder of the newest PostgreSQL server binaries: Debian's `/usr/lib/postgresql/N/bin`,
/// else where `initdb` is on the PATH.
fn server_binaries() -> anyhow::Result<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("postgres").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Ok(bin);
    }
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .find(|dir| dir.join("initdb").exists() && dir.join("postgres").exists())
        .context("no PostgreSQL server binaries (apt-get install postgresql; make test does)")
}

impl PrivatePostgres {
    /// Creates a cluster and starts the server; waits until it accepts connections.
    pub async fn start() -> anyhow::Result<Self> {
        let bin = server_binaries()?;
        let directory = tempfile::Builder::new()
            .prefix("ates-postgres-")
            .tempdir()?;
        // initdb refuses to run as root: the cluster then belongs to the postgres user. (The
        // owner of /proc/self is the process's effective user.)
        let as_postgres_user = {
            use std::os::unix::fs::MetadataExt as _;
            std::fs::metadata("/proc/self").is_ok_and(|me| me.uid() == 0)
        };
        if as_postgres_user {
            let output = std::process::Command::new("id")
                .args(["-u", "postgres"])
                .output()
                .context("cannot look up the postgres user")?;
            let uid: u32 = String::from_utf8_lossy(&output.stdout)
                .trim()
                .parse()
                .context("there is no postgres user (apt-get install postgresql)")?;
            std::os::unix::fs::chown(directory.path(), Some(uid), None)?;
        }
        let mut postgres = Self {
            server: None,
            bin,
            port: crate::free_port(),
            as_postgres_user,
            directory,
        };
        let data = postgres.data();
        let status = postgres
            .command("initdb")
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .await
            .context("cannot run initdb")?;
        anyhow::ensure!(status.success(), "initdb failed ({status})");
        postgres.start_server().await?;
        Ok(postgres)
    }

    fn data(&self) -> PathBuf {
        self.directory.path().join("data")
    }

    /// A command running `program` as the cluster's owner. `setpriv` changes user and then
    /// execs (unlike `runuser`, which forks and waits), so the server is the test's own child:
    /// a kill reaches the postmaster itself and the test reaps it. An orphaned postmaster would
    /// stay a zombie where nothing reaps orphans, and its pid in `postmaster.pid` would then
    /// keep the next start from running.
    fn command(&self, program: &str) -> tokio::process::Command {
        let program = self.bin.join(program);
        if self.as_postgres_user {
            let mut command = tokio::process::Command::new("setpriv");
            command
                .args([
                    "--reuid=postgres",
                    "--regid=postgres",
                    "--init-groups",
                    "--",
                ])
                .arg(program);
            command
        } else {
            tokio::process::Command::new(program)
        }
    }

    async fn start_server(&mut self) -> anyhow::Result<()> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.directory.path().join("server.log"))?;
        let mut command = self.command("postgres");
        command
            .arg("-D")
            .arg(self.data())
            .arg("-k")
            .arg(self.directory.path())
            .args(["-p", &self.port.to_string()])
            .args(["-c", "listen_addresses=127.0.0.1"])
            .args(["-c", "max_connections=400"])
            .stdout(Stdio::null())
            .stderr(Stdio::from(log));
        self.server = Some(ChildProcess::spawn("postgres", command)?);
        let url = self.admin_url();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            if tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .is_ok()
            {
                return Ok(());
            }
            anyhow::ensure!(
                tokio::time::Instant::now() < deadline,
                "the private PostgreSQL did not start within 60 s (see {})",
                self.directory.path().join("server.log").display()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The URL of the server's `postgres` database, to create test databases with.
    pub fn admin_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Kills the server and every backend (SIGKILL), keeping its data.
    pub async fn stop(&mut self) {
        if let Some(mut server) = self.server.take() {
            server.kill().await;
            // The postmaster is dead and reaped; its lock file would only make the next start
            // check a pid that the machine may have given to another process since. (The
            // shared-memory check that guards the data against a live backend still runs.)
            let _ = std::fs::remove_file(self.data().join("postmaster.pid"));
        }
    }

    /// Starts the server again after [`PrivatePostgres::stop`] (it recovers from the crash).
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        if self.server.is_none() {
            self.start_server().await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether a process with this pid exists and is not a zombie.
    fn alive(pid: u32) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
            // The state follows the command name in parentheses.
            stat.rsplit_once(") ")
                .is_some_and(|(_, rest)| !rest.starts_with('Z'))
        })
    }

    #[tokio::test]
    async fn a_killed_server_leaves_no_process_behind_and_restarts_on_its_committed_data() {
        let mut postgres = PrivatePostgres::start().await.unwrap();
        for round in 0..3 {
            let (client, connection) =
                tokio_postgres::connect(&postgres.admin_url(), tokio_postgres::NoTls)
                    .await
                    .unwrap();
            tokio::spawn(connection);
            client
                .batch_execute(&format!(
                    "CREATE TABLE IF NOT EXISTS kept (round int); INSERT INTO kept VALUES ({round})"
                ))
                .await
                .unwrap();
            let postmaster = postgres.server.as_ref().and_then(ChildProcess::id).unwrap();
            postgres.stop().await;
            assert!(
                !alive(postmaster),
                "round {round}: the postmaster {postmaster} outlived its kill"
            );
            postgres.restart().await.unwrap();
        }
        let (client, connection) =
            tokio_postgres::connect(&postgres.admin_url(), tokio_postgres::NoTls)
                .await
                .unwrap();
        tokio::spawn(connection);
        let rows: i64 = client
            .query_one("SELECT count(*) FROM kept", &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(rows, 3, "every committed row survives the kills");
    }
}
