fn main() -> std::process::ExitCode {
    newsgist::cli::run()
}
