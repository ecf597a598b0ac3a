# codemesh coverage launcher, run by the Tester inside the sandbox in place of `python <args>`:
#   python cover.py <report.json> <file,file,...> -- (-m module | script) args...
# Measures line coverage of the named files (the ones the patch changes) with coverage.py when the interpreter
# has it, runs the module or script as `python -m module` / `python script` would, and writes coverage.py's
# JSON report. Without coverage.py it only runs the tests (and says so on stderr). The exit status is the tests'.
import os
import runpy
import sys
import tempfile


def main():
    report, files, sep = sys.argv[1], sys.argv[2], sys.argv[3]
    if sep != "--" or len(sys.argv) < 5:
        sys.exit("codemesh cover.py: usage: cover.py <report.json> <files> -- (-m module | script) args...")
    rest = sys.argv[4:]
    include = [os.path.abspath(f) for f in files.split(",") if f]
    cov = None
    try:
        import coverage

        data = os.path.join(tempfile.mkdtemp(prefix="codemesh-cov-"), ".coverage")
        # The repository's own coverage settings are not read: the measurement is codemesh's, on its files.
        cov = coverage.Coverage(data_file=data, include=include, config_file=False)
    except Exception as err:  # ImportError, or a coverage.py too old for these arguments
        print(f"codemesh: coverage not measured ({type(err).__name__}: {err})", file=sys.stderr)

    if rest[0] == "-m":
        target, is_module = rest[1], True
        sys.argv = [rest[1], *rest[2:]]
        sys.path[0] = os.getcwd()  # as `python -m`: the current directory first
    else:
        target, is_module = rest[0], False
        sys.argv = rest
        sys.path[0] = os.path.dirname(os.path.abspath(rest[0]))  # as `python script`: the script's directory

    code = 0
    if cov is not None:
        cov.start()
    try:
        if is_module:
            runpy.run_module(target, run_name="__main__", alter_sys=True)
        else:
            runpy.run_path(target, run_name="__main__")
    except SystemExit as exit_:
        code = exit_.code
    finally:
        if cov is not None:
            cov.stop()
            cov.save()
            try:
                cov.json_report(outfile=report, ignore_errors=True)
            except Exception as err:  # e.g. "No data to report": no changed file was imported
                print(f"codemesh: no coverage report ({type(err).__name__}: {err})", file=sys.stderr)
    sys.exit(code)


main()
