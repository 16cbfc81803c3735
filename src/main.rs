//! Command line: `serve` runs a replica (against the built-in sandbox when no credentials
//! are configured), `sandbox` runs the simulated TikTok Shop and NetSuite on their own.

mod bench;
mod demo;

use anyhow::Context;
use bridge::config::{self, Config, Env, Layered, Role};
use clap::{Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;

#[derive(Parser)]
#[command(name = "tiktok-netsuite-bridge", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum RoleArg {
    All,
    Ingress,
    Worker,
}

#[derive(Subcommand)]
enum Command {
    /// Run a replica: ingress, workers and timers (or one part with --role).
    Serve {
        /// Overrides BRIDGE_ROLE.
        #[arg(long, value_enum)]
        role: Option<RoleArg>,
        /// Where the built-in sandbox listens when no credentials are configured.
        #[arg(long, default_value = "127.0.0.1:8090")]
        sandbox_addr: SocketAddr,
    },
    /// Play a live stream against the built-in sandbox and print what happened.
    Demo(demo::Args),
    /// Run every benchmark and print a table of figures beside their targets.
    Bench(bench::Args),
    /// Operator commands: dead letters, parked jobs, order history.
    Admin(bridge::admin_cli::Args),
    /// Run the simulated TikTok Shop and NetSuite APIs on their own.
    Sandbox {
        #[arg(long, default_value = "127.0.0.1:8090")]
        addr: SocketAddr,
        /// The bridge's webhook URL, shown in the printed instructions.
        #[arg(long)]
        webhook_url: Option<String>,
        /// The URL clients use to reach the sandbox when it differs from `http://ADDR`
        /// (e.g. `http://sandbox:8090` in compose); NetSuite TBA signatures cover it.
        #[arg(long)]
        public_url: Option<String>,
    },
    /// Probe a running replica's /healthz (or /readyz) and exit 0 on 200, 1 otherwise.
    /// Loads no configuration, for container health checks.
    Healthcheck {
        /// Full URL to probe; default from BIND_ADDR (0.0.0.0 becomes 127.0.0.1).
        #[arg(long)]
        url: Option<String>,
        /// Probe /readyz (Redis answers) instead of /healthz.
        #[arg(long)]
        ready: bool,
    },
}

async fn healthcheck(url: Option<String>, ready: bool) -> anyhow::Result<()> {
    let url = match url {
        Some(u) => u,
        None => {
            let bind: SocketAddr = std::env::var("BIND_ADDR")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 8080)));
            let host = match bind.ip() {
                std::net::IpAddr::V4(ip) if ip.is_unspecified() => "127.0.0.1".to_string(),
                std::net::IpAddr::V6(ip) if ip.is_unspecified() => "[::1]".to_string(),
                std::net::IpAddr::V4(ip) => ip.to_string(),
                std::net::IpAddr::V6(ip) => format!("[{ip}]"),
            };
            let path = if ready { "readyz" } else { "healthz" };
            format!("http://{host}:{}/{path}", bind.port())
        }
    };
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(2))
        .build()?;
    match client.get(&url).send().await {
        Ok(r) if r.status().is_success() => Ok(()),
        Ok(r) => {
            eprintln!("healthcheck: {url} answered {}", r.status());
            std::process::exit(1)
        }
        Err(e) => {
            eprintln!("healthcheck: {url} unreachable: {e}");
            std::process::exit(1)
        }
    }
}

fn init_tracing(default_filter: &str) {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_env("RUST_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    if std::io::stdout().is_terminal() {
        builder.init();
    } else {
        builder.json().with_current_span(true).init();
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // The demo draws its own progress on stdout; service logs would drown it (RUST_LOG
    // still turns them on).
    init_tracing(if matches!(cli.command, Command::Demo(_)) {
        "error"
    } else if matches!(cli.command, Command::Bench(_)) {
        // The bench prints a table; per-job lines would bury it.
        "warn"
    } else {
        "info"
    });
    match cli.command {
        Command::Serve { role, sandbox_addr } => serve(role, sandbox_addr).await,
        Command::Demo(args) => demo::run(args).await,
        Command::Bench(args) => bench::run(args).await,
        Command::Admin(args) => bridge::admin_cli::run(args).await,
        Command::Healthcheck { url, ready } => healthcheck(url, ready).await,
        Command::Sandbox {
            addr,
            webhook_url,
            public_url,
        } => {
            let mut sb = sandbox::spawn(addr).await?;
            if let Some(url) = public_url {
                sb.set_public_url(&url);
            }
            if let Some(url) = webhook_url {
                sb.set_webhook_target(&url);
            }
            println!("{}", sb.describe());
            shutdown_signal().await;
            Ok(())
        }
    }
}

async fn serve(role: Option<RoleArg>, sandbox_addr: SocketAddr) -> anyhow::Result<()> {
    let mut sandbox = None;
    let cfg = if config::has_no_credentials(&Env) {
        let sb = sandbox::spawn(sandbox_addr)
            .await
            .context("no credentials configured, and the built-in sandbox could not start")?;
        let fallback = sb.bridge_settings();
        let cfg = Config::from_source(&Layered {
            first: &Env,
            then: &fallback,
        })?;
        sandbox = Some(sb);
        cfg
    } else {
        Config::from_env()?
    };
    let mut cfg = cfg;
    if let Some(r) = role {
        cfg.role = match r {
            RoleArg::All => Role::All,
            RoleArg::Ingress => Role::Ingress,
            RoleArg::Worker => Role::Worker,
        };
    }
    let bind = cfg.bind_addr;
    let running = bridge::app::start(cfg, None).await?;
    if let Some(sb) = &sandbox {
        sb.set_webhook_target(&format!(
            "http://{}/webhooks/tiktok",
            running.addr.unwrap_or(bind)
        ));
        println!(
            "\nNo TikTok/NetSuite credentials configured: running against the built-in sandbox.\n{}\n",
            sb.describe()
        );
    }
    let token = running.shutdown_token();
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutdown requested; finishing in-flight jobs");
        token.cancel();
    });
    running.wait().await;
    Ok(())
}
