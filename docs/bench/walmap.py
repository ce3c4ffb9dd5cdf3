#!/usr/bin/env python3
# walmap.py DIR N FLOW...: the pages each FLOW wrote per operation (N operations), by b-tree,
# from the copies `usersbench -count-statements` leaves in DIR with USERSBENCH_WAL_DUMP=DIR.
# Needs a Python whose SQLite has the dbstat table (Debian's does).
import sqlite3, struct, sys, collections, shutil, os
d=sys.argv[1]; n=int(sys.argv[2])
for flow in sys.argv[3:]:
    db=f"{d}/{flow}.db"; wal=db+"-wal"
    b=open(wal,'rb').read()
    ps=struct.unpack('>I',b[8:12])[0]; s1,s2=struct.unpack('>II',b[16:24])
    pages=collections.Counter(); off=32
    while off+24+ps<=len(b):
        pg,cs,a,c=struct.unpack('>IIII',b[off:off+16])
        if (a,c)!=(s1,s2): break
        pages[pg]+=1; off+=24+ps
    # map with dbstat on a copy (opening applies the wal)
    tmp=f'/tmp/walmap-{flow}.db'; [os.remove(x) for x in (tmp,tmp+'-wal',tmp+'-shm') if os.path.exists(x)]; shutil.copy(db,tmp); shutil.copy(wal,tmp+'-wal')
    c=sqlite3.connect(tmp)
    m={r[1]:r[0] for r in c.execute("select name,pageno from dbstat")}
    by=collections.Counter()
    for pg,k in pages.items(): by[m.get(pg,'?free/other')]+=k
    tot=sum(pages.values())
    print(f"{flow}: {tot/n:.2f} pages/op")
    for name,k in by.most_common(): print(f"   {k/n:6.2f}  {name}")
