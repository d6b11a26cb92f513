# User-space memory per idle connection vs N, ringcast vs nginx + nchan
# (data file written by bench/lib/tables.py --plot-data: N rc_rss rc_pss nc_rss nc_pss).
#   gnuplot -e "dat='mem.dat'; out='mem-per-conn.png'" bench/plot/mem_per_conn.gp
set terminal pngcairo size 900,560 font ",10"
set output out
set title "server user-space memory per idle connection ((after - before) / N)"
set xlabel "idle connections N"
set ylabel "bytes per connection"
set datafile missing "?"
set logscale x
set xrange [5000:150000]
set format x "%.0s%c"
set yrange [0:*]
set grid
set key center right
set style data linespoints
plot dat using 1:2 ls 1 lw 2 pt 7 lc rgb "#1f77b4" title "ringcast RSS", \
     dat using 1:3 lw 2 pt 6 dt 2 lc rgb "#1f77b4" title "ringcast PSS", \
     dat using 1:4 lw 2 pt 7 lc rgb "#d62728" title "nchan RSS", \
     dat using 1:5 lw 2 pt 6 dt 2 lc rgb "#d62728" title "nchan PSS", \
     1024 with lines dt 3 lc rgb "#555555" title "goal: 1 KiB"
