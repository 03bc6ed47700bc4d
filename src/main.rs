//! Entry point: parse the command line and hand over to the console commands.

fn main() -> std::process::ExitCode {
    holdfast::cli::main()
}
