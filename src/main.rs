//! `latchkey`: parse the command line and configuration, run, print one error line on failure.

use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::{CommandFactory, Parser};
use latchkey::cli::Cli;
use latchkey::config::Config;

fn main() -> ExitCode {
    std::panic::set_hook(Box::new(|info| {
        eprintln!("error: internal error: {info}");
    }));
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) if !err.use_stderr() => {
            let _ = err.print();
            return ExitCode::SUCCESS;
        }
        Err(err) if err.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            eprintln!("{} (see --help)", missing_subcommand());
            return ExitCode::from(2);
        }
        Err(err) => {
            eprintln!("{} (see latchkey --help)", one_line(&err));
            return ExitCode::from(2);
        }
    };
    if let Err(err) = dotenvy::dotenv() {
        if !err.not_found() {
            eprintln!("error: cannot read .env: {err}");
            return ExitCode::FAILURE;
        }
    }
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::FAILURE;
        }
    };
    latchkey::telemetry::init(
        &cli.log_config(&config.log, std::env::var_os("LATCHKEY_LOG").is_some()),
    );
    match latchkey::cli::run(cli, config) {
        Ok(()) => ExitCode::SUCCESS,
        // `latchkey users list | head`: the reader has all it wanted.
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) if err.downcast_ref::<latchkey::cli::ExitStatus>().is_some() => {
            let code = err
                .downcast_ref::<latchkey::cli::ExitStatus>()
                .map_or(1, |s| s.0);
            ExitCode::from(code)
        }
        Err(err) => {
            eprintln!("error: {}", latchkey::error::chain(err.as_ref()));
            ExitCode::FAILURE
        }
    }
}

/// Clap's message without its usage block, on one line: what is wrong and which argument.
fn one_line(err: &clap::Error) -> String {
    let text = err.render().to_string();
    let words: Vec<&str> = text
        .lines()
        .take_while(|line| !line.starts_with("Usage:") && !line.starts_with("For more information"))
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect();
    if words.is_empty() {
        "error: invalid arguments".to_owned()
    } else {
        words.join(" ")
    }
}

/// `latchkey users` alone: name the command and the subcommands it takes.
fn missing_subcommand() -> String {
    let mut command = Cli::command();
    let mut path = vec!["latchkey".to_owned()];
    for arg in std::env::args().skip(1) {
        let Some(sub) = command.find_subcommand(&arg).cloned() else {
            break;
        };
        path.push(arg);
        command = sub;
    }
    let names: Vec<&str> = command
        .get_subcommands()
        .map(clap::Command::get_name)
        .filter(|name| *name != "help")
        .collect();
    format!(
        "error: `{}` needs a subcommand: {}",
        path.join(" "),
        names.join(", ")
    )
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.downcast_ref::<std::io::Error>()
        .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
}
