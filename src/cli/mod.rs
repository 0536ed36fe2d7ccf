//! The command line: parse arguments, call the operations layer, print.
//! Exit codes follow Terraform: 0 success, 1 error, 2 changes present
//! (`plan --detailed-exitcode` only).

mod args;
mod commands;
mod printer;

pub use args::{Cli, Command};
pub use printer::Printer;

use clap::Parser;

/// Exit status: success.
pub const EXIT_OK: i32 = 0;
/// Exit status: an error.
pub const EXIT_ERROR: i32 = 1;
/// Exit status of `plan --detailed-exitcode` when there are changes.
pub const EXIT_CHANGES: i32 = 2;

/// Runs the command line and returns the process exit status.
pub fn run() -> i32 {
    // Usage errors exit 1, not clap's 2, which `plan --detailed-exitcode` uses for "changes".
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { EXIT_ERROR } else { EXIT_OK };
        }
    };
    init_logging();
    let printer = Printer;
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            printer.error(&format!("cannot start the async runtime: {e}"));
            return EXIT_ERROR;
        }
    };
    match runtime.block_on(commands::dispatch(
        cli.command,
        cli.istioctl.as_deref(),
        &printer,
    )) {
        Ok(code) => code,
        Err(e) => {
            printer.error(&format!("{e:#}"));
            EXIT_ERROR
        }
    }
}

/// Logs go to stderr, filtered by `MESHFORM_LOG` (default `warn`).
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("MESHFORM_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    // Colour codes only on a terminal: logs piped to a file or CI stay plain.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}
