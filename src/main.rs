//! `wargdash`: the binary. Argument parsing and the subcommand handlers live in [`cli`]; the
//! library (`wargdash::…`) holds everything else and never sees clap types.

mod cli;

use clap::Parser;
use cli::{Cli, Env};
use std::io::IsTerminal;
use wargdash::context::Ctx;
use wargdash::exit::{self, fail, CmdResult, Fail};

/// Exit code when stdout is closed under us (`wargdash track list | head -1`): what a process
/// killed by SIGPIPE reports, without the noise.
const BROKEN_PIPE: i32 = 141;

fn main() {
    wargdash::ui::mark_process_start();
    let code = match real_main() {
        Ok(code) => code,
        Err(f) if is_broken_pipe(&f) => BROKEN_PIPE,
        Err(f) => {
            tracing::error!("{:#}", f.report);
            let mut chain = f.report.chain();
            if let Some(top) = chain.next() {
                eprintln!("error: {}", wargdash::text::clean(&top.to_string()));
            }
            for cause in chain {
                eprintln!("  caused by: {}", wargdash::text::clean(&cause.to_string()));
            }
            f.code
        }
    };
    std::process::exit(code);
}

/// Whether the failure is a write to a closed pipe.
fn is_broken_pipe(f: &Fail) -> bool {
    f.report.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            || c.downcast_ref::<serde_json::Error>()
                .is_some_and(|e| e.io_error_kind() == Some(std::io::ErrorKind::BrokenPipe))
    })
}

fn real_main() -> CmdResult {
    let theme = if std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none() {
        color_eyre::config::Theme::dark()
    } else {
        color_eyre::config::Theme::new()
    };
    let _ = color_eyre::config::HookBuilder::default()
        .display_env_section(false)
        .theme(theme)
        .install();
    let args = Cli::parse();
    if let Some(done) = cli::offline_command(&args.command) {
        return done;
    }
    let ctx = Ctx::load(args.global.overrides()).map_err(|e| fail(exit::ERROR, e))?;
    if matches!(args.command, Some(cli::Command::Monitor(_))) {
        // The monitor has no screen: its log is stderr (journald under systemd).
        wargdash::monitor::init_logging();
    } else {
        wargdash::logging::init(&ctx.paths.log_file()).map_err(|e| fail(exit::ERROR, e))?;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| fail(exit::ERROR, e))?;
    let env = Env {
        ctx: &ctx,
        json: args.global.json,
    };
    rt.block_on(async {
        match args.command {
            Some(cmd) => cli::run(&env, cmd).await,
            None if std::io::stdout().is_terminal() => {
                wargdash::ui::run(&ctx, args.dash.options(&ctx)).await
            }
            None => cli::poll_once(&env, args.dash.options(&ctx).concurrency, true).await,
        }
    })
}
