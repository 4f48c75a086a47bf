# Reference values for tests/models/test_rates.py: exact (Garwood) Poisson confidence intervals
# of a rate, as R's poisson.test(x, T)$conf.int (stats package).
#   Rscript tests/models/reference/rates_poisson.R   (run from the repository root; writes
#   tests/models/reference/rates_poisson.json)
# Needs Debian's r-base-core r-cran-jsonlite.
suppressPackageStartupMessages(library(jsonlite))
out <- list(R = R.version.string, jsonlite = as.character(packageVersion("jsonlite")))
# x events over T (in thousands of km or hours), at two confidence levels; 0 and 1 event on
# purpose (lower limit 0; the smallest positive lower limit).
cases <- data.frame(x = c(0, 1, 2, 5, 12, 38, 250, 0, 1, 7),
                    T = c(1.3327, 0.60175, 0.42526, 2.5, 1.33277, 2.76103, 40, 0.02264, 0.05,
                          0.0357))
rows <- list()
for (level in c(0.95, 0.90)) {
  for (i in seq_len(nrow(cases))) {
    ci <- poisson.test(cases$x[i], cases$T[i], conf.level = level)$conf.int
    rows[[length(rows) + 1]] <- list(events = cases$x[i], exposure = cases$T[i],
                                     level = level, rate = cases$x[i] / cases$T[i],
                                     ci_low = ci[1], ci_high = ci[2])
  }
}
out$cases <- rows
# Per state of the SYNTHETIC Cox data (cox_survival.R): events per 1,000 km and per 1,000 h.
d <- read.csv("tests/models/reference/data/cox_sessions.csv")
states <- c("<=10%", ">10-30%", ">30-100%", ">100%")
by_state <- list()
for (s in states) {
  part <- d[d$session_state == s, ]
  x <- sum(part$event); km <- sum(part$distance_km); h <- sum(part$duration_min) / 60
  ci_km <- poisson.test(x, km / 1000)$conf.int
  ci_h <- poisson.test(x, h / 1000)$conf.int
  by_state[[length(by_state) + 1]] <- list(
    session_state = s, rows = nrow(part), events = x,
    person_days = sum(part$stop_day - part$start_day), km = km, hours = h,
    rate_per_1000_km = 1000 * x / km, ci_low_km = ci_km[1], ci_high_km = ci_km[2],
    rate_per_1000_h = 1000 * x / h, ci_low_h = ci_h[1], ci_high_h = ci_h[2])
}
out$by_state <- list(file = "cox_sessions.csv", rows = by_state)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE),
           "tests/models/reference/rates_poisson.json")
