fn main() -> std::process::ExitCode {
    botyard::cli::main()
}
