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
        builder.init();
    }
}

fn main() -> anyhow::Result<()> {
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
