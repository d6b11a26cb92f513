# Latency CDF, ringcast vs nginx + nchan, from the loadgen's histogram
# buckets (data files written by bench/lib/tables.py --plot-data).
#   gnuplot -e "rc='R.dat'; nc='N.dat'; out='X.png'; ttl='...'" bench/plot/latency_cdf.gp
# nc may be '' when there is no nchan result.
set terminal pngcairo size 900,560 font ",10"
set output out
set title ttl
set xlabel "latency: publisher send -> subscriber receive (ms, log scale)"
set ylabel "fraction of frames delivered within"
set logscale x
set format x "%g"
set yrange [0:1.001]
set ytics 0.1
set grid xtics ytics mxtics
set key bottom right
set style line 1 lw 2 lc rgb "#1f77b4"
set style line 2 lw 2 lc rgb "#d62728"
if (strlen(nc) > 0) {
    plot rc using 1:2 with steps ls 1 title "ringcast", \
         nc using 1:2 with steps ls 2 title "nginx + nchan"
} else {
    plot rc using 1:2 with steps ls 1 title "ringcast"
}
