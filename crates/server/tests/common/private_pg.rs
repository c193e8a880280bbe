//! A PostgreSQL server of a test's own (initdb and pg_ctl on a free port),
//! so the test can stop and start it: the machine's shared server is never
//! stopped. Runs as the `postgres` user (initdb refuses root).

use std::path::PathBuf;
use std::process::Command;

pub struct PrivatePg {
    pub data: PathBuf,
    pub port: u16,
    bin: PathBuf,
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl PrivatePg {
    /// A new cluster, started.
    pub fn start() -> PrivatePg {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .expect("PostgreSQL's binaries under /usr/lib/postgresql (Debian's postgresql package)")
            .filter_map(|e| Some(e.ok()?.path().join("bin")))
            .filter(|b| b.join("initdb").exists())
            .max()
            .expect("initdb under /usr/lib/postgresql/*/bin");
        let data = std::env::temp_dir().join(format!(
            "clickledger-pg-{}-{}",
            std::process::id(),
            clickledger_server::util::random_id("d", 8)
        ));
        std::fs::create_dir_all(&data).unwrap();
        run(Command::new("chown").arg("postgres:postgres").arg(&data));
        // a free port: the kernel's pick, released for the server
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        run(Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(bin.join("initdb"))
            .args(["-A", "trust", "-U", "postgres", "--no-sync", "-D"])
            .arg(&data));
        let pg = PrivatePg { data, port, bin };
        pg.resume();
        pg
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn pg_ctl(&self, args: &[&str]) {
        run(Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(&self.data)
            .args(args));
    }

    /// Starts the server and waits until it takes connections.
    pub fn resume(&self) {
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.data.display()
        );
        let log = self.data.join("server.log");
        self.pg_ctl(&["-w", "-o", &opts, "-l", log.to_str().unwrap(), "start"]);
    }

    /// Stops it as a crash would: no checkpoint, connections cut.
    pub fn kill(&self) {
        self.pg_ctl(&["-w", "-m", "immediate", "stop"]);
    }
}

impl Drop for PrivatePg {
    fn drop(&mut self) {
        let _ = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "stop"])
            .output();
        let _ = std::fs::remove_dir_all(&self.data);
    }
}
