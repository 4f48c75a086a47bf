# Reference values for tests/test_meta_reference.py from metafor (Debian r-cran-metafor).
#   Rscript tests/evidence/reference/metafor.R      (writes tests/evidence/reference/metafor.json and two CSVs)
suppressPackageStartupMessages({library(metafor); library(jsonlite)})
out <- list(R = R.version.string, metafor = as.character(packageVersion("metafor")))
write.csv(dat.bcg, "tests/evidence/reference/data/dat_bcg.csv", row.names = FALSE)
write.csv(dat.normand1999, "tests/evidence/reference/data/dat_normand1999.csv", row.names = FALSE)

# escalc: SMD (Hedges g, default vtype), MD, log OR, log RR (with a zero cell)
smd <- escalc("SMD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i,
              data = dat.normand1999)
md <- escalc("MD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i,
             data = dat.normand1999)
bcg <- dat.bcg
bcg$tpos[3] <- 0   # a zero cell: metafor adds 1/2 to that study's cells
or <- escalc("OR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = bcg)
rr <- escalc("RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = bcg)
ci_in <- data.frame(est = c(0.5, 1.2, 2.0), lo = c(0.3, 0.8, 1.1), hi = c(0.83, 1.8, 3.6))
# metafor 3.8 has no conv.wald (added in 4.0): the same formula, written out
cw <- data.frame(yi = log(ci_in$est), vi = ((log(ci_in$hi) - log(ci_in$lo)) / (2 * qnorm(0.975)))^2)
out$escalc <- list(smd_yi = as.numeric(smd$yi), smd_vi = as.numeric(smd$vi),
                   md_yi = as.numeric(md$yi), md_vi = as.numeric(md$vi),
                   or_yi = as.numeric(or$yi), or_vi = as.numeric(or$vi),
                   rr_yi = as.numeric(rr$yi), rr_vi = as.numeric(rr$vi),
                   ci_yi = as.numeric(cw$yi), ci_vi = as.numeric(cw$vi))

# rma on the BCG log risk ratios: every method x test
dat <- escalc("RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
fits <- list()
for (method in c("REML", "DL", "PM")) for (test in c("z", "knha")) {
  f <- rma(yi, vi, data = dat, method = method, test = test,
           control = list(threshold = 1e-10, tol = 1e-12, maxiter = 1000))
  p <- predict(f)
  ci <- confint(f, control = list(tol = 1e-12))$random
  fits[[paste(method, test, sep = "_")]] <- list(
    estimate = as.numeric(coef(f)), se = f$se, ci_low = f$ci.lb, ci_high = f$ci.ub,
    p_value = f$pval, pi_low = p$pi.lb, pi_high = p$pi.ub, tau2 = f$tau2,
    tau2_ci_low = ci["tau^2", "ci.lb"], tau2_ci_high = ci["tau^2", "ci.ub"],
    i2 = f$I2, h2 = f$H2, q = f$QE, q_p = f$QEp, k = f$k)
}
out$rma <- fits
l1o <- leave1out(rma(yi, vi, data = dat, method = "REML",
                     control = list(threshold = 1e-10, tol = 1e-12, maxiter = 1000)))
out$leave1out <- list(estimate = as.numeric(l1o$estimate), tau2 = as.numeric(l1o$tau2),
                      i2 = as.numeric(l1o$I2), q = as.numeric(l1o$Q))
# homogeneous case: tau2 on the boundary
homo <- rma(yi = c(0.10, 0.12, 0.09, 0.11), vi = c(0.01, 0.02, 0.015, 0.012), method = "REML")
out$boundary <- list(tau2 = homo$tau2, estimate = as.numeric(coef(homo)), i2 = homo$I2)

# Egger's test: regtest's defaults (model "rma", predictor "sei"), z and Knapp-Hartung
ctl <- list(threshold = 1e-10, tol = 1e-12, maxiter = 1000)
for (test in c("z", "knha")) {
  eg <- regtest(rma(yi, vi, data = dat, method = "REML", test = test, control = ctl))
  out[[paste0("regtest_", test)]] <- list(statistic = eg$zval, p_value = eg$pval,
                                          limit_estimate = eg$est, limit_ci_low = eg$ci.lb,
                                          limit_ci_high = eg$ci.ub)
}
# Subgroups by allocation: per-subgroup rma, and the moderator test QM (F with knha)
for (test in c("z", "knha")) {
  m <- rma(yi, vi, mods = ~ factor(alloc), data = dat, method = "REML", test = test,
           control = ctl)
  per <- lapply(split(dat, dat$alloc), function(d)
    as.numeric(coef(rma(yi, vi, data = d, method = "REML", test = test, control = ctl))))
  out[[paste0("subgroup_", test)]] <- list(statistic = m$QM, p_value = m$QMp,
                                           estimates = per)
}
write_json(out, "tests/evidence/reference/metafor.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
