#!/bin/sh
# Changes a tree made by make_tree.sh the ways an incremental stream must carry: writes,
# truncates, renames and moves of directories, a swap of two names, deletes, hardlink changes,
# xattr changes, new files of each kind. Usage: change_tree.sh DIR
set -eu
cd "$1"
printf 'appended\n' >> small
dd if=/dev/urandom of=random bs=4096 count=3 seek=10 conv=notrunc status=none
dd if=/dev/urandom of=big bs=65536 count=1 seek=144 conv=notrunc status=none
truncate -s 1000 holes
truncate -s 3M base_clone
printf 'grown' | dd of=huge_sparse bs=1 seek=536870912 conv=notrunc status=none
mv dir/sub dir/sub_moved
mkdir newdir && mv deep newdir/deep
mv newdir/deep/level0/level1 newdir/level1_up
mv small tmp_swap && mv random small && mv tmp_swap random
rm -f owned fifo
rm -rf sticky
ln random random_hard
rm dir/hard1
ln dir/target newdir/hard3
setfattr -x user.color random
setfattr -n user.color -v red small
setfattr -n user.added -v 1 dir/target
setfacl -b dir
mkfifo newfifo
ln -s random newlink
chmod 600 suid
chown 42:42 sgid
touch -d '2010-10-10 10:10:10' base
sync
