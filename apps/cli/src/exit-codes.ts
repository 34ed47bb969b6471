/**
 * The exit code of a command that ran and found something an operator must look at, printed what it found: `audit:verify`
 * (a problem in the moderation log) and `content:versions` (the sequence at its warning threshold or past it). One code
 * for every such command, so that a cron job or monitoring wrapper alerts on it alone, whichever command it runs: not 0
 * (nothing to look at), nor 1 (the command failed: nothing known), nor an interrupt's (129, 130, 143). `npm run parvis`
 * exits 1 too when its build fails, though tsc's own code for a type error is this one (package.json).
 */
export const ALERT_EXIT = 2;
