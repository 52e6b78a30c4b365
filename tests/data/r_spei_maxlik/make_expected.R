# Expected values for landwatch's SPEI log-logistic fit="max-lik" (see README.md here).
#
# R SPEI itself is not installable on the build machine (no r-cran-spei in Debian 12,
# CRAN unreachable), so this script follows SPEI 1.8.1's max-lik path with base R only:
#   1. rectangular-kernel sums of the balance over `scale` months;
#   2. per calendar month, over the whole record (R SPEI's default reference period):
#      unbiased PWMs -> L-moments -> generalized-logistic parameters (lmom::pelglo's
#      formulas), the values SPEI 1.8.1 uses as the start;
#   3. stats::optim() with its defaults (Nelder-Mead) on the negative GLO log-likelihood
#      with SPEI::parglo.maxlik's rules: 1e6 when alpha <= 0, |kappa| >= 1 (lmomco
#      are.parglo.valid), kappa == 0, or a value outside the support;
#   4. SPEI = qnorm(F_GLO(x)) with the fitted parameters.
# Run from the repository root:  Rscript tests/data/r_spei_maxlik/make_expected.R [shared]
args <- commandArgs(trailingOnly = TRUE)
shared <- if (length(args) >= 1) args[1] else "../shared"
out_dir <- "tests/data/r_spei_maxlik"
bal <- read.table(file.path(shared, "validation/r_spei_balance_cruts4/inputs/balance.txt"),
                  header = TRUE)
stations <- colnames(bal)
nt <- nrow(bal)
month_of <- rep(1:12, length.out = nt)

window_sum <- function(x, scale) {
  out <- rep(NA_real_, length(x))
  for (t in scale:length(x)) out[t] <- sum(x[(t - scale + 1):t])
  out
}

glo_start <- function(x) {  # unbiased PWM -> L-moments -> GLO (xi, alpha, kappa)
  x <- sort(x)
  n <- length(x)
  j <- seq_len(n) - 1
  b0 <- mean(x)
  b1 <- sum(j / (n - 1) * x) / n
  b2 <- sum(j * (j - 1) / ((n - 1) * (n - 2)) * x) / n
  l1 <- b0
  l2 <- 2 * b1 - b0
  t3 <- (6 * b2 - 6 * b1 + b0) / l2
  k <- -t3
  if (abs(k) <= 1e-6) return(c(l1, l2, 0))
  kk <- k * pi / sin(k * pi)
  alpha <- l2 / kk
  c(l1 - alpha * (1 / k - pi / sin(k * pi)), alpha, k)
}

glo_negloglik <- function(theta, x) {
  xi <- theta[1]; alpha <- theta[2]; k <- theta[3]
  if (alpha <= 0 || abs(k) >= 1 || k == 0) return(1e6)
  u <- 1 - k * (x - xi) / alpha
  if (min(u) <= 0) return(1e6)
  y <- -log(u) / k
  -(-length(x) * log(alpha) - (1 - k) * sum(y) - 2 * sum(log(1 + exp(-y))))
}

glo_cdf <- function(x, p) {
  y <- (x - p[1]) / p[2]
  if (p[3] != 0) y <- -log(1 - p[3] * y) / p[3]
  1 / (1 + exp(-y))
}

params <- NULL
spei <- data.frame(month_index = seq_len(nt) - 1)
for (scale in c(1, 12)) {
  for (s in stations) {
    acc <- window_sum(bal[[s]], scale)
    z <- rep(NA_real_, nt)
    for (m in 1:12) {
      sel <- which(month_of == m & !is.na(acc))
      x <- acc[sel]
      ini <- glo_start(x)
      o <- suppressWarnings(optim(par = ini, fn = glo_negloglik, x = x))
      z[sel] <- qnorm(glo_cdf(x, o$par))
      params <- rbind(params, data.frame(
        scale = scale, station = s, month = m, n = length(x),
        xi_ubpwm = ini[1], alpha_ubpwm = ini[2], kappa_ubpwm = ini[3],
        xi = o$par[1], alpha = o$par[2], kappa = o$par[3],
        negloglik = o$value, fn_evaluations = o$counts[[1]], convergence = o$convergence
      ))
    }
    spei[[paste0("spei_", scale, "_", s)]] <- z
  }
}
for (nm in c("xi_ubpwm", "alpha_ubpwm", "kappa_ubpwm", "xi", "alpha", "kappa", "negloglik")) {
  params[[nm]] <- sprintf("%.17g", params[[nm]])
}
write.csv(params, file.path(out_dir, "balance_maxlik_params.csv"), row.names = FALSE,
          quote = FALSE)
spei_txt <- spei
for (nm in colnames(spei)[-1]) spei_txt[[nm]] <- ifelse(is.na(spei[[nm]]), "NA",
                                                       sprintf("%.12g", spei[[nm]]))
write.csv(spei_txt, file.path(out_dir, "balance_maxlik_spei.csv"), row.names = FALSE,
          quote = FALSE)
cat("R", R.version$major, ".", R.version$minor, "; fits:", nrow(params),
    "; not converged:", sum(params$convergence != 0), "\n")
