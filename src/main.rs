//! The `chatd` binary: `chatd` / `chatd serve`, `chatd migrate`, `chatd --help`.

use chatd::app::{open_store, Application};
use chatd::config::{Cli, Command, Config};
use chatd::Clock;
use clap::Parser;
use tracing_subscriber::EnvFilter;

fn init_logs(json: bool) {
    let filter = EnvFilter::try_from_env("CHAT_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    if json {
        builder.json().init();
    } else {
        // Colour codes only for a person at a terminal, not in files or a log collector.
        use std::io::IsTerminal;
        builder.with_ansi(std::io::stdout().is_terminal()).init();
    }
}

/// glibc raises its mmap threshold to the size of any large block freed, so after the first
/// password hash every 19 MiB Argon2 buffer comes from a malloc arena and stays resident in it
/// (one arena per blocking thread: ~0.5 GB after a burst of sign-ups). A fixed threshold keeps
/// blocks of 1 MiB and more in their own mappings, returned to the system when freed.
fn release_large_blocks() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; it runs before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

fn main() -> anyhow::Result<()> {
    release_large_blocks();
    let cli = Cli::parse();
    let cfg = Config::load(cli.options, cli.config.as_ref())?;
    init_logs(cfg.log_json);
    // Built by hand (not `#[tokio::main]`) so the worker count comes from the configuration.
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cfg.workers)
        .enable_all()
        .build()?
        .block_on(run(cli.command.unwrap_or(Command::Serve), cfg))
}

async fn run(command: Command, cfg: Config) -> anyhow::Result<()> {
    match command {
        Command::Migrate => {
            open_store(&cfg).await?;
            tracing::info!("migrations are up to date");
        }
        Command::Serve => {
            let app = Application::start(cfg, Clock::default()).await?;
            app.run_until_signal().await;
        }
    }
    Ok(())
}
