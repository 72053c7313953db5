# Compile and sample one Stan program; time both inside R; write the draws and the timings.
#   Rscript run_stan.R PROGRAM.stan DATA.json DRAWS.csv TIMES.json CHAINS WARMUP DRAWS SEED
args <- commandArgs(trailingOnly = TRUE)
t_load <- system.time(suppressPackageStartupMessages(library(rstan)))[["elapsed"]]
rstan_options(auto_write = FALSE)  # a fresh compilation each run: what a first fit costs
data <- jsonlite::fromJSON(args[2])
chains <- as.integer(args[5]); warmup <- as.integer(args[6]); draws <- as.integer(args[7])
t_compile <- system.time(model <- stan_model(args[1]))[["elapsed"]]
t_sample <- system.time(fit <- sampling(model, data = data, chains = chains, cores = chains,
  warmup = warmup, iter = warmup + draws, seed = as.integer(args[8]), refresh = 0))[["elapsed"]]
# permuted = FALSE keeps each chain's draws in order (chains, draws, parameters)
arr <- as.array(fit, pars = c("beta", "Sigma", "sigma2"))
out <- do.call(rbind, lapply(seq_len(dim(arr)[2]), function(c)
  cbind(chain = c, draw = seq_len(dim(arr)[1]), arr[, c, ])))
write.csv(out, args[3], row.names = FALSE)
sp <- get_sampler_params(fit, inc_warmup = FALSE)
jsonlite::write_json(list(
  load = t_load, compile = t_compile, sample = t_sample,
  divergent = sum(sapply(sp, function(s) sum(s[, "divergent__"]))),
  stepsize = mean(sapply(sp, function(s) s[1, "stepsize__"])),
  mean_leapfrog = mean(sapply(sp, function(s) mean(s[, "n_leapfrog__"]))),
  rstan = as.character(packageVersion("rstan")), stan = stan_version(),
  R = paste(R.version$major, R.version$minor, sep = ".")
), args[4], auto_unbox = TRUE, digits = NA)
