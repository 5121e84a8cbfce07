// Fixture: a suite file that fails to load must not vanish from the report.
throw new Error('this suite file is broken on purpose');
